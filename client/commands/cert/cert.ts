// `vaultops cert issue|renew|revoke`: one certificateWorkflow per certificate (workflows/
// certificate.ts). `issue` starts it and waits until the first certificate is deployed (or, with
// --once, until the workflow returns); `renew <workflow-id>` asks for a renewal now and prints the
// new serial; `revoke <workflow-id>` revokes, prints the CRL and OCSP proof, and the workflow ends.
// Bad input (flags, the policy file, the CSR file, names the policy refuses) exits 2 before
// anything starts.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Client,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  type CertPolicy,
  CertPolicyError,
  evaluateCertPolicy,
  parseCertPolicyFile,
} from '../../../common/cert/policy.js';
import { parseDuration } from '../../../common/durations.js';
import type {
  CertificateInput,
  CertificateOutcome,
  certificateWorkflow,
} from '../../../workflows/cert/certificate.js';
import {
  type CertificateStatus,
  certificateStatusQuery,
  renewNowUpdate,
  revokeUpdate,
} from '../../../workflows/cert/messages.js';
import { startWorkflowOnce } from '../../start-workflow.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { UsageError } from '../usage-error.js';

type Out = (line: string) => void;

export interface CertIssueOptions extends GlobalOptions {
  mount?: string;
  role?: string;
  cn?: string;
  altName?: string[];
  ipSan?: string[];
  ttl?: string;
  keyType?: string;
  keyBits?: string;
  certFile?: string;
  keyFile?: string;
  chainFile?: string;
  reloadCmd?: string;
  renewBefore?: string;
  policy?: string;
  once?: boolean;
  csr?: string;
  cluster?: string;
  timeout?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/;
const HOST =
  /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*)$/;

const duration = z
  .string()
  .optional()
  .refine((t) => t === undefined || (parseDuration(t) ?? 0) > 0, {
    message: 'must be a duration such as 720h, 30d or 90m',
  });

const issueSchema = z.object({
  mount: z
    .string({ error: 'is required: the PKI mount, e.g. pki_int' })
    .regex(NAME, 'must be a mount path such as pki_int'),
  role: z.string({ error: 'is required: the role to issue through' }).regex(NAME, 'must be a role name'),
  cn: z
    .string({ error: 'is required: the common name, e.g. www.example.com' })
    .regex(HOST, 'must be a DNS name'),
  altName: z.array(z.string().regex(HOST, 'must be a DNS name')).optional(),
  ipSan: z.array(z.string().regex(IP, 'must be an IP address')).optional(),
  ttl: duration,
  renewBefore: duration,
  keyType: z.enum(['ec', 'rsa', 'ed25519'], { error: 'must be ec, rsa or ed25519' }).optional(),
  keyBits: z.string().regex(/^\d+$/, 'must be a number of bits, e.g. 256 or 2048').optional(),
  certFile: z.string({ error: 'is required: where the certificate goes' }).min(1),
  keyFile: z.string().min(1).optional(),
  chainFile: z.string().min(1).optional(),
  reloadCmd: z.string().trim().min(1, 'must be a command').optional(),
  cluster: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a cluster name (lowercase letters, digits and "-")')
    .optional(),
});

function usage(error: z.ZodError): UsageError {
  const issue = error.issues[0];
  const field = String(issue?.path[0] ?? '');
  const flag = field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return new UsageError(`--${flag} ${issue?.message}`);
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

/** The policy file (YAML or JSON), checked; a problem is a UsageError naming the field. */
export function readCertPolicy(path: string): CertPolicy {
  const text = readText(path, '--policy');
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new UsageError(
      `--policy ${path} is not YAML or JSON: ${err instanceof Error ? err.message.split('\n')[0] : err}`,
    );
  }
  try {
    return parseCertPolicyFile(raw, `--policy ${path}`);
  } catch (err) {
    if (err instanceof CertPolicyError) throw new UsageError(err.message);
    throw err;
  }
}

/** The workflow's id and input from the command line; bad input is a UsageError (exit 2). */
export function certIssueRequest(
  opts: CertIssueOptions,
  cwd = process.cwd(),
): { workflowId: string; input: CertificateInput } {
  const parsed = issueSchema.safeParse(opts);
  if (!parsed.success) throw usage(parsed.error);
  const o = parsed.data;
  const at = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p));
  let csr: string | undefined;
  if (opts.csr !== undefined) {
    csr = readText(resolve(cwd, opts.csr), '--csr');
    if (!/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(csr))
      throw new UsageError(`--csr ${opts.csr} is not a PEM certificate request (BEGIN CERTIFICATE REQUEST)`);
    if (o.keyFile)
      throw new UsageError('--key-file goes with a key made for you; with --csr the key stays with you');
    if (o.keyType || o.keyBits)
      throw new UsageError("--key-type/--key-bits: with --csr the key is the CSR's");
  } else if (!o.keyFile) {
    throw new UsageError(
      '--key-file is required: where the private key goes (mode 0600), unless you give --csr',
    );
  }
  if (opts.once && o.renewBefore)
    throw new UsageError('--renew-before means nothing with --once (no renewals)');
  const policy = opts.policy === undefined ? undefined : readCertPolicy(resolve(cwd, opts.policy));
  const altNames = o.altName ?? [];
  const ipSans = o.ipSan ?? [];
  if (policy) {
    // The names and TTL are known here: refuse now what the workflow would refuse.
    const ttlMs = o.ttl === undefined ? undefined : parseDuration(o.ttl);
    const violations = evaluateCertPolicy({ commonName: o.cn, altNames, ipSans, ttlMs }, policy);
    if (violations.length > 0) throw new UsageError(violations.map((v) => v.message).join('\n'));
  }
  const cluster = o.cluster ?? 'default';
  const input: CertificateInput = {
    ...(o.cluster ? { cluster: o.cluster } : {}),
    mount: o.mount,
    role: o.role,
    commonName: o.cn,
    ...(altNames.length ? { altNames } : {}),
    ...(ipSans.length ? { ipSans } : {}),
    ...(o.ttl ? { ttl: o.ttl } : {}),
    ...(o.keyType
      ? { key: { keyType: o.keyType, ...(o.keyBits ? { keyBits: Number(o.keyBits) } : {}) } }
      : {}),
    ...(csr ? { csr } : {}),
    deploy: {
      certFile: at(o.certFile) as string,
      ...(o.keyFile ? { keyFile: at(o.keyFile) } : {}),
      ...(o.chainFile ? { chainFile: at(o.chainFile) } : {}),
      ...(o.reloadCmd ? { reloadCommand: o.reloadCmd } : {}),
    },
    ...(o.renewBefore ? { renewBeforeMs: parseDuration(o.renewBefore) as number } : {}),
    ...(policy ? { policy } : {}),
    ...(opts.once ? { once: true } : {}),
  };
  return { workflowId: `cert:${cluster}:${o.mount}:${o.cn}`, input };
}

/** The innermost cause's message: the workflow's own words rather than Temporal's wrappers. */
function innermost(err: Error): string {
  let cause: Error = err;
  while (cause.cause instanceof Error) cause = cause.cause;
  return cause.message;
}

async function waitForFirst(
  client: Client,
  workflowId: string,
  timeoutMs: number,
): Promise<CertificateStatus> {
  const handle = client.workflow.getHandle<typeof certificateWorkflow>(workflowId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING' && status.name !== 'CONTINUED_AS_NEW') {
      try {
        await handle.result();
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new Error(`not issued: ${innermost(err)}`);
        throw err;
      }
    }
    const s = await handle.query(certificateStatusQuery).catch(() => undefined);
    if (s?.certificate) return s;
    if (Date.now() > deadline)
      throw new Error(
        `no certificate after ${timeoutMs / 1000}s${s?.lastError ? ` (last error: ${s.lastError.message})` : ''}; ` +
          `it keeps trying: ${VAULTOPS} status '${workflowId}'`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function certIssueCommand(opts: CertIssueOptions, out: Out): Promise<void> {
  const { workflowId, input } = certIssueRequest(opts);
  const target = resolveTemporal(opts);
  await withClient(target, async (client) => {
    await startWorkflowOnce(
      client,
      'certificateWorkflow',
      { taskQueue: target.temporal.task_queue, workflowId, args: [input] },
      () =>
        new Error(
          `a certificate workflow for ${input.commonName} on ${input.mount} is running already: ${workflowId}; ` +
            `\`${VAULTOPS} cert renew '${workflowId}'\` renews it, \`${VAULTOPS} cert revoke '${workflowId}'\` ends it`,
        ),
    );
    let status: Pick<CertificateStatus, 'certificate' | 'nextRenewalAt' | 'reload'>;
    if (input.once) {
      let result: CertificateOutcome;
      try {
        result = await client.workflow.getHandle<typeof certificateWorkflow>(workflowId).result();
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new Error(`not issued: ${innermost(err)}`);
        throw err;
      }
      status = { certificate: result.certificate, nextRenewalAt: null, reload: null };
    } else {
      status = await waitForFirst(client, workflowId, (opts.timeout ?? 300) * 1000);
    }
    const cert = status.certificate;
    out(`Serial       ${cert?.serial}`);
    out(`Not after    ${cert?.notAfter}`);
    out(`Fingerprint  ${cert?.fingerprint}`);
    out(
      `Deployed     ${[input.deploy.certFile, input.deploy.keyFile, input.deploy.chainFile].filter(Boolean).join(', ')} (on the worker)`,
    );
    if (status.reload && !status.reload.ok)
      out(`Reload       FAILED (${status.reload.detail}); the files are in place`);
    if (status.nextRenewalAt) out(`Next renewal ${status.nextRenewalAt}`);
    out(`Workflow     ${workflowId}`);
  });
}

async function update<T>(workflowId: string, what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new Error(`${what} refused: ${innermost(err)}`);
    if (err instanceof WorkflowNotFoundError)
      throw new Error(
        `no running certificate workflow ${workflowId}: \`${VAULTOPS} list --type certificateWorkflow\``,
      );
    throw err;
  }
}

export async function certRenewCommand(workflowId: string, opts: GlobalOptions, out: Out): Promise<void> {
  if (!workflowId.trim())
    throw new UsageError('name the certificate workflow, e.g. cert:default:pki_int:www.example.com');
  await withClient(resolveTemporal(opts), async (client) => {
    const handle = client.workflow.getHandle<typeof certificateWorkflow>(workflowId);
    const renewed = await update(workflowId, 'renewal', () => handle.executeUpdate(renewNowUpdate));
    out(`Renewed      ${renewed.previousSerial} → ${renewed.serial}`);
    out(`Serial       ${renewed.serial}`);
    out(`Not after    ${renewed.notAfter}`);
  });
}

export interface CertRevokeOptions extends GlobalOptions {
  removeFiles?: boolean;
}

export async function certRevokeCommand(
  workflowId: string,
  opts: CertRevokeOptions,
  out: Out,
): Promise<void> {
  if (!workflowId.trim())
    throw new UsageError('name the certificate workflow, e.g. cert:default:pki_int:www.example.com');
  await withClient(resolveTemporal(opts), async (client) => {
    const handle = client.workflow.getHandle<typeof certificateWorkflow>(workflowId);
    const revoked = await update(workflowId, 'revocation', () =>
      handle.executeUpdate(revokeUpdate, { args: [{ removeFiles: opts.removeFiles ?? false }] }),
    );
    await handle.result();
    out(`Revoked      ${revoked.serial} at ${revoked.revokedAt}`);
    out(`CRL          lists it (CRL of ${revoked.crl.thisUpdate})`);
    out(`OCSP         revoked; response signed by the ${revoked.ocsp.signedBy}, signature verified`);
    if (revoked.removed.length) out(`Removed      ${revoked.removed.join(', ')}`);
    out(`Workflow     ${workflowId} ended`);
  });
}
