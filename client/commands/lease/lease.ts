// `vaultops lease keep <db-mount>/<role>`: starts a lease keeper (workflows/lease/keeper.ts) that
// keeps dynamic database credentials renewed and delivered to a file on the worker's machine
// and/or a KV v2 path, and revokes them when it is cancelled (`vaultops cancel <id>`). One keeper
// per credential and destination: the workflow id names both, so a second start is refused.
import { resolve } from 'node:path';
import { z } from 'zod';
import { workflowHistoryUrl } from '../../../common/dev-state.js';
import { parseDuration } from '../../../common/durations.js';
import type { LeaseKeeperInput } from '../../../workflows/lease/keeper.js';
import { startWorkflowOnce } from '../../start-workflow.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';

export interface LeaseKeepOptions extends GlobalOptions {
  toFile?: string;
  kv?: string;
  renewBefore?: string;
  overlap?: string;
  removeFileOnCancel?: boolean;
  cluster?: string;
  json?: boolean;
}

const SEGMENT = /^[A-Za-z0-9_.@-]+$/;
const segmentsOk = (path: string) =>
  path.split('/').every((seg) => SEGMENT.test(seg) && seg !== '.' && seg !== '..');

const duration = (what: string) =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      const ms = parseDuration(text);
      if (ms === undefined || ms < 0 || (what !== 'overlap' && ms === 0)) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration such as 30s, 5m or 1h (got ${JSON.stringify(text)})`,
        });
        return z.NEVER;
      }
      return ms;
    });

const keepSchema = z.object({
  credentials: z
    .string()
    .trim()
    .refine((s) => /^[^/]+(\/[^/]+)*\/[^/]+$/.test(s) && segmentsOk(s), {
      message:
        'is not <db-mount>/<role>: give the database secrets engine mount, then the dynamic role, e.g. database/app-readonly',
    }),
  toFile: z.string().trim().min(1, 'must name a file').optional(),
  kv: z
    .string()
    .trim()
    .refine((s) => /^[^/]+\/.+[^/]$/.test(s) && segmentsOk(s), {
      message: 'must be <kv-mount>/<path>, e.g. secret/app/db',
    })
    .optional(),
  renewBefore: duration('renew-before'),
  overlap: duration('overlap'),
  cluster: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a cluster name (lowercase letters, digits and "-")')
    .optional(),
});

function usage(error: z.ZodError, credentials: string): UsageError {
  const issue = error.issues[0];
  const field = String(issue?.path[0] ?? '');
  if (field === 'credentials') return new UsageError(`${JSON.stringify(credentials)} ${issue?.message}`);
  const flag = field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return new UsageError(`--${flag} ${issue?.message}`);
}

/** The keeper's input and workflow id from the command line; bad input is a UsageError (exit 2). */
export function leaseKeepRequest(
  credentials: string,
  opts: LeaseKeepOptions,
  cwd = process.cwd(),
): { workflowId: string; input: LeaseKeeperInput } {
  const parsed = keepSchema.safeParse({ ...opts, credentials });
  if (!parsed.success) throw usage(parsed.error, credentials);
  const o = parsed.data;
  if (!o.toFile && !o.kv)
    throw new UsageError('say where the credentials go: --to-file <path>, --kv <kv-mount>/<path>, or both');
  if (opts.removeFileOnCancel && !o.toFile)
    throw new UsageError('--remove-file-on-cancel needs --to-file: there is no file to remove');
  const cut = o.credentials.lastIndexOf('/');
  const dbMount = o.credentials.slice(0, cut);
  const role = o.credentials.slice(cut + 1);
  // The worker writes the file: a relative path is taken from here, which is the worker's
  // directory only when the worker runs on this machine (as with `vaultops dev`).
  const file = o.toFile === undefined ? undefined : resolve(cwd, o.toFile);
  const slash = o.kv?.indexOf('/') ?? -1;
  const kv = o.kv ? { mount: o.kv.slice(0, slash), path: o.kv.slice(slash + 1) } : undefined;
  const cluster = o.cluster ?? 'default';
  const input: LeaseKeeperInput = {
    ...(o.cluster ? { cluster: o.cluster } : {}),
    dbMount,
    role,
    deliver: { ...(file ? { file } : {}), ...(kv ? { kv } : {}) },
    ...(o.renewBefore === undefined ? {} : { renewBeforeMs: o.renewBefore }),
    ...(o.overlap === undefined ? {} : { overlapMs: o.overlap }),
    ...(opts.removeFileOnCancel ? { removeFileOnCancel: true } : {}),
  };
  const destination = file ?? `kv:${o.kv}`;
  return { workflowId: `lease:${cluster}:${dbMount}/${role}:${destination}`, input };
}

export async function leaseKeepCommand(
  credentials: string,
  opts: LeaseKeepOptions,
  out: (line: string) => void,
): Promise<void> {
  const { workflowId, input } = leaseKeepRequest(credentials, opts);
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    const handle = await startWorkflowOnce(
      client,
      'leaseKeeperWorkflow',
      { taskQueue: target.temporal.task_queue, workflowId, args: [input] },
      () =>
        new Error(
          `a lease keeper for these credentials and this destination is running already: ${workflowId}; ` +
            `\`${VAULTOPS} status '${workflowId}'\` shows it, \`${VAULTOPS} cancel '${workflowId}'\` stops it`,
        ),
    );
    const runId = handle.firstExecutionRunId;
    if (opts.json) {
      out(JSON.stringify({ workflowId, runId, input }));
      return;
    }
    out(workflowId);
    const where = [
      input.deliver.file ? `${input.deliver.file} (on the worker, mode 0600)` : undefined,
      input.deliver.kv ? `KV ${input.deliver.kv.mount}/${input.deliver.kv.path}` : undefined,
    ].filter(Boolean);
    out(
      `Keeping ${input.dbMount}/creds/${input.role} delivered to ${where.join(' and ')}, on task queue ${target.temporal.task_queue}.`,
    );
    out(`Stop it (the lease is revoked): ${VAULTOPS} cancel '${workflowId}'`);
    if (target.uiUrl)
      out(`History: ${workflowHistoryUrl(target.uiUrl, target.temporal.namespace, workflowId, runId)}`);
  });
}
