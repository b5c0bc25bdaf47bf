// `vaultops break-glass request|collect|revoke|status`: emergency access through the
// breakGlassWorkflow. The requesting CLI makes an X25519 key pair, keeps the private key in a 0600
// file and puts only the public key in the workflow input; once approved, the worker creates the
// token, wraps it (single use, short TTL) and seals the wrapping token to that public key. `collect`
// opens the box with the private key, unwraps with Vault directly, writes the token to a 0600 file
// (or prints it on --print) and deletes the private key. Temporal never holds the token.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import { approvalPolicyProblems, MAX_REASON_LENGTH } from '../../../common/approval.js';
import {
  type BreakGlassAudit,
  type BreakGlassDeliveryView,
  type BreakGlassInput,
  breakGlassProblems,
  DEFAULT_BREAK_GLASS_USES,
  DEFAULT_WRAP_TTL,
} from '../../../common/break-glass/break-glass.js';
import { generateRecipientKeyPair, open as openSealedBox } from '../../../common/sealed-box.js';
import {
  breakGlassAuditQuery,
  breakGlassCollectedSignal,
  breakGlassDeliveryQuery,
  revokeBreakGlassUpdate,
} from '../../../workflows/break-glass/messages.js';
import { type WorkflowStatusReport, workflowStatusQuery } from '../../../workflows/lib/status.js';
import { formatSteps } from '../../format-approval.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';
import { reportWhile } from '../watch.js';

type Out = (line: string) => void;

export interface RequestOptions extends GlobalOptions, DeliverOptions {
  policy: string;
  ttl: string;
  reason: string;
  uses?: string;
  approvers: string;
  quorum?: string;
  approvalTimeout?: string;
  as?: string;
  wrapTtl?: string;
  cluster?: string;
  workflowId?: string;
  wait?: boolean;
  json?: boolean;
}

export interface DeliverOptions {
  out?: string;
  print?: boolean;
  /** Seconds to wait for approval and creation. */
  timeout?: number;
  keyDir?: string;
  as?: string;
}

export interface CollectOptions extends GlobalOptions, DeliverOptions {}

export interface RevokeOptions extends GlobalOptions {
  as?: string;
  reason: string;
  json?: boolean;
  /** Where `request` left the private key (default: the break-glass key directory). */
  keyDir?: string;
}

export interface BreakGlassStatusOptions extends GlobalOptions {
  json?: boolean;
}

/** Where private keys wait for `collect`: $VAULTOPS_BREAK_GLASS_DIR, else ~/.vaultops/break-glass. */
export function breakGlassKeyDir(explicit?: string): string {
  return resolve(
    explicit ?? process.env.VAULTOPS_BREAK_GLASS_DIR ?? join(homedir(), '.vaultops', 'break-glass'),
  );
}

const keyFile = (dir: string, workflowId: string) => join(dir, `${workflowId}.key`);

const WORKFLOW_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

const requestSchema = z.object({
  policy: z.string().trim().min(1, 'name the Vault policy the token carries'),
  ttl: z.string().trim().min(1),
  reason: z.string().trim().min(1, 'say why').max(MAX_REASON_LENGTH),
  uses: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .default(DEFAULT_BREAK_GLASS_USES),
  approvers: z.string().transform((s) =>
    s
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== ''),
  ),
  quorum: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).default(2),
  approvalTimeout: z.string().trim().default('1h'),
  as: z.string().trim().min(1).optional(),
  wrapTtl: z.string().trim().default(DEFAULT_WRAP_TTL),
  cluster: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and "-"')
    .optional(),
  workflowId: z.string().regex(WORKFLOW_ID, 'letters, digits, . _ - only').optional(),
});

function usage(error: z.ZodError): UsageError {
  const issue = error.issues[0];
  const flag = String(issue?.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return new UsageError(`--${flag} ${issue?.message}`);
}

function whoAmI(as: string | undefined): string {
  if (as) return as;
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

function checkDelivery(opts: DeliverOptions): void {
  if (opts.out && opts.print) throw new UsageError('give --out FILE or --print, not both');
  if (!opts.out && !opts.print)
    throw new UsageError('say where the token goes: --out FILE (written 0600), or --print to show it');
  if (!process.env.VAULT_ADDR)
    throw new UsageError(
      'export VAULT_ADDR: the token is unwrapped with Vault directly, never through Temporal',
    );
}

export async function requestCommand(opts: RequestOptions, out: Out): Promise<void> {
  const parsed = requestSchema.safeParse(opts);
  if (!parsed.success) throw usage(parsed.error);
  const o = parsed.data;
  if (opts.wait) checkDelivery(opts);
  const requester = whoAmI(o.as);
  const keys = generateRecipientKeyPair();
  const input: BreakGlassInput = {
    policy: o.policy,
    ttl: o.ttl,
    reason: o.reason,
    numUses: o.uses,
    approval: { requester, approvers: o.approvers, quorum: o.quorum, timeout: o.approvalTimeout },
    recipientPublicKey: keys.publicKey,
    wrapTtl: o.wrapTtl,
    ...(o.cluster ? { cluster: o.cluster } : {}),
  };
  // Checked here too, so bad input exits 2 before anything is started or written.
  const problems = [...breakGlassProblems(input), ...approvalPolicyProblems(input.approval)];
  if (problems.length > 0) throw new UsageError(problems.join('; '));

  const workflowId =
    o.workflowId ?? `break-glass-${new Date().toISOString().replace(/[:.]/g, '')}-${randomSuffix()}`;
  const dir = breakGlassKeyDir(opts.keyDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = keyFile(dir, workflowId);
  writeFileSync(keyPath, keys.privateKeyPem, { mode: 0o600, flag: 'wx' });

  const target = resolveTemporal(opts);
  try {
    await withClient(target, (client) =>
      client.workflow.start('breakGlassWorkflow', {
        taskQueue: target.temporal.task_queue,
        workflowId,
        args: [input],
      }),
    );
  } catch (err) {
    rmSync(keyPath, { force: true });
    throw err;
  }
  if (opts.json && !opts.wait) {
    out(JSON.stringify({ workflowId, requester, keyFile: keyPath }, null, 2));
    return;
  }
  out(
    `Requested break-glass ${workflowId}: policy ${o.policy} for ${o.ttl}, ${o.uses} uses, as ${requester}`,
  );
  out(`  needs ${o.quorum} of ${o.approvers.join(', ')} within ${o.approvalTimeout}:`);
  out(`    ${VAULTOPS} approve ${workflowId} --as <approver> --reason <text>`);
  out(`  private key for delivery: ${keyPath} (0600; deleted once collected)`);
  if (!opts.wait) {
    out(`  once approved: ${VAULTOPS} break-glass collect ${workflowId} --out <file>`);
    return;
  }
  await collect(workflowId, { ...opts, as: requester }, out);
}

export async function collectCommand(workflowId: string, opts: CollectOptions, out: Out): Promise<void> {
  checkDelivery(opts);
  await collect(workflowId, opts, out);
}

async function collect(workflowId: string, opts: DeliverOptions & GlobalOptions, out: Out): Promise<void> {
  const keyPath = keyFile(breakGlassKeyDir(opts.keyDir), workflowId);
  let privateKeyPem: string;
  try {
    privateKeyPem = readFileSync(keyPath, 'utf8');
  } catch {
    throw new Error(
      `no private key for ${workflowId} at ${keyPath}: collect runs as the user, on the machine, that requested it ` +
        '(or the token was collected already)',
    );
  }
  // Opened before the unwrap: a wrapping token works once, so its token must have somewhere to go.
  const fd = opts.out ? openOutFile(opts.out) : undefined;
  let written = false;
  try {
    const { view, audit } = await withClient(resolveTemporal(opts), async (client) => {
      // Who must approve, each time that changes (on stderr: --print puts the token on stdout).
      const view = await reportWhile(
        client,
        workflowId,
        waitForDelivery(client, workflowId, (opts.timeout ?? 3600) * 1000, out),
      );
      const audit = await client.workflow.getHandle(workflowId).query(breakGlassAuditQuery);
      return { view, audit };
    });
    const sealed = view.sealedWrappingToken;
    if (!sealed) throw new Error('the workflow delivered nothing');
    const wrappingToken = openSealedBox(privateKeyPem, sealed);
    const token = await unwrap(wrappingToken, workflowId, view.wrapExpiresAt);
    if (fd !== undefined) {
      writeSync(fd, `${token}\n`);
      written = true;
    } else {
      out(token);
    }
    await withClient(resolveTemporal(opts), (client) =>
      client.workflow.getHandle(workflowId).signal(breakGlassCollectedSignal, {
        by: whoAmI(opts.as),
        at: new Date().toISOString(),
      }),
    ).catch(() => {
      // The audit misses the collection time; the token is delivered all the same.
    });
    rmSync(keyPath, { force: true });
    const where = opts.out ? `written to ${resolve(opts.out)} (0600)` : 'printed above';
    out(`Emergency token for ${workflowId} ${where}`);
    out(
      `  accessor ${audit.accessor}; policy ${audit.policy}; ${audit.numUses} uses; expires ${audit.expiresAt}`,
    );
    out(`  revoke it when done: ${VAULTOPS} break-glass revoke ${workflowId} --reason <text>`);
  } finally {
    if (fd !== undefined) {
      closeSync(fd);
      if (!written) rmSync(resolve(opts.out as string), { force: true });
    }
  }
}

function openOutFile(path: string): number {
  try {
    return openSync(resolve(path), 'wx', 0o600);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST') throw new UsageError(`--out ${path} exists already: name a new file`);
    throw new UsageError(`--out ${path}: ${(err as Error).message}`);
  }
}

const TERMINAL: ReadonlySet<string> = new Set(['rejected', 'failed', 'revoking', 'revoked']);

async function waitForDelivery(
  client: Client,
  workflowId: string,
  timeoutMs: number,
  out: Out,
): Promise<BreakGlassDeliveryView> {
  const handle = client.workflow.getHandle(workflowId);
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    let view: BreakGlassDeliveryView;
    try {
      view = await handle.query(breakGlassDeliveryQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new Error(`no workflow with id "${workflowId}"`);
      throw err;
    }
    if (view.sealedWrappingToken) return view;
    if (TERMINAL.has(view.status)) {
      const audit = await handle.query(breakGlassAuditQuery);
      throw new Error(
        `nothing to collect: the request is ${view.status}${audit.error ? ` (${audit.error})` : ''}`,
      );
    }
    if (view.status === 'active')
      throw new Error(
        `the token of ${workflowId} was collected already (at ${(await handle.query(breakGlassAuditQuery)).collectedAt}); ` +
          `if that was not you, revoke it now: ${VAULTOPS} break-glass revoke ${workflowId}`,
      );
    if (!told) {
      out(`Waiting for ${workflowId} to be approved and its token created...`);
      told = true;
    }
    if (Date.now() > deadline)
      throw new Error(`${workflowId} is still ${view.status} after ${timeoutMs / 1000}s`);
    await sleep(1000);
  }
}

/** The token inside the wrapping token, after checking that the wrapping is ours and unused. */
async function unwrap(
  wrappingToken: string,
  workflowId: string,
  wrapExpiresAt: string | null,
): Promise<string> {
  const [{ userVaultClient }, { isVaultFailure, VaultErrorType }] = await Promise.all([
    import('../../user-vault.js'),
    import('../../../vault/errors.js'),
  ]);
  // No token of the user's: the wrapping token is passed with each call.
  const vault = await userVaultClient(process.env.VAULT_ADDR as string);
  try {
    let lookup: unknown;
    try {
      lookup = await vault.put('sys/wrapping/lookup', { token: wrappingToken }, { token: null });
    } catch (err) {
      if (!isVaultFailure(err, VaultErrorType.InvalidRequest)) throw err;
      const expired = wrapExpiresAt !== null && Date.now() >= Date.parse(wrapExpiresAt);
      throw new Error(
        expired
          ? `the wrapping token expired at ${wrapExpiresAt} before it was collected; revoke this request ` +
              `(${VAULTOPS} break-glass revoke ${workflowId}) and ask again`
          : `TAMPERING: the wrapping token was already unwrapped by someone else (it is valid until ${wrapExpiresAt} ` +
              `and works once). Treat the emergency token as compromised: ${VAULTOPS} break-glass revoke ${workflowId} ` +
              '--reason "wrapping token used by someone else", and check the audit log for the wrapping accessor',
      );
    }
    const path = (lookup as { data?: { creation_path?: string } })?.data?.creation_path;
    if (path !== 'sys/wrapping/wrap')
      throw new Error(
        `TAMPERING: the wrapping token was made by ${path ?? 'an unknown path'}, not by vaultops (sys/wrapping/wrap); not unwrapping it`,
      );
    let body: unknown;
    try {
      body = await vault.write('sys/wrapping/unwrap', {}, { token: wrappingToken });
    } catch (err) {
      if (
        isVaultFailure(err, VaultErrorType.InvalidRequest) ||
        isVaultFailure(err, VaultErrorType.PermissionDenied)
      )
        throw new Error(
          `TAMPERING: the wrapping token was unwrapped by someone else between its lookup and our unwrap. ` +
            `Revoke now: ${VAULTOPS} break-glass revoke ${workflowId} --reason "wrapping token used by someone else"`,
        );
      throw err;
    }
    const token = (body as { data?: { token?: unknown } })?.data?.token;
    if (typeof token !== 'string' || token === '') throw new Error('the unwrapped answer holds no token');
    return token;
  } finally {
    await vault.close();
  }
}

export async function revokeCommand(workflowId: string, opts: RevokeOptions, out: Out): Promise<void> {
  const reason = opts.reason?.trim() ?? '';
  if (reason === '') throw new UsageError('--reason is required: say why the token is revoked');
  const by = whoAmI(opts.as);
  const audit = await withClient(resolveTemporal(opts), async (client) => {
    try {
      return await client.workflow
        .getHandle(workflowId)
        .executeUpdate(revokeBreakGlassUpdate, { args: [{ by, reason }] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError)
        throw new Error(`revocation refused: ${err.cause?.message ?? err.message}`);
      if (err instanceof WorkflowNotFoundError)
        throw new Error(
          `workflow ${workflowId} is not running (unknown, or closed: its token is revoked already)`,
        );
      throw err;
    }
  });
  // The private key is of no further use.
  rmSync(keyFile(breakGlassKeyDir(opts.keyDir), workflowId), { force: true });
  if (opts.json) {
    out(JSON.stringify({ workflowId, audit }, null, 2));
    return;
  }
  out(`Revoked the emergency token of ${workflowId} as ${by}`);
  for (const line of formatAudit(audit)) out(line);
}

export async function breakGlassStatusCommand(
  workflowId: string,
  opts: BreakGlassStatusOptions,
  out: Out,
): Promise<void> {
  const { audit, steps } = await withClient(resolveTemporal(opts), async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    try {
      const [audit, steps] = await Promise.all([
        handle.query(breakGlassAuditQuery),
        handle.query(workflowStatusQuery) as Promise<WorkflowStatusReport>,
      ]);
      return { audit, steps };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new Error(`no workflow with id "${workflowId}"`);
      throw err;
    }
  });
  if (opts.json) {
    out(JSON.stringify({ workflowId, audit, steps: steps.steps }, null, 2));
    return;
  }
  out(`Break-glass ${workflowId}`);
  for (const line of formatAudit(audit)) out(line);
  for (const line of formatSteps(steps)) out(line);
}

export function formatAudit(a: BreakGlassAudit): string[] {
  const lines = [
    `Status      ${a.status}`,
    `Requested   by ${a.requester} at ${a.requestedAt}: ${a.reason}`,
    `Token       policy ${a.policy}, ttl ${a.ttl}, ${a.numUses} uses`,
    `Approvers   ${a.quorum} of ${a.approvers.join(', ')}`,
  ];
  for (const v of a.approvals)
    lines.push(`            approved by ${v.approver} at ${v.at}${v.reason ? `: ${v.reason}` : ''}`);
  for (const v of a.rejections)
    lines.push(`            rejected by ${v.approver} at ${v.at}${v.reason ? `: ${v.reason}` : ''}`);
  if (a.accessor) lines.push(`Accessor    ${a.accessor} (wrapping accessor ${a.wrapAccessor})`);
  if (a.createdAt) lines.push(`Created     ${a.createdAt}; expires ${a.expiresAt}`);
  if (a.collectedAt) lines.push(`Collected   ${a.collectedAt} by ${a.collectedBy}`);
  else if (a.wrapExpiresAt && a.status === 'active') lines.push(`Collect by  ${a.wrapExpiresAt}`);
  if (a.revokedAt)
    lines.push(
      `Revoked     ${a.revokedAt} by ${a.revokedBy}: ${a.revokeReason}${a.alreadyGone ? ' (Vault had already ended it)' : ''}`,
    );
  if (a.error) lines.push(`Error       ${a.error}`);
  return lines;
}

function randomSuffix(): string {
  return randomBytes(3).toString('hex');
}
