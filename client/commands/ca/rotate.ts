import { approvalPolicyProblems } from '../../../common/approval.js';
import { parseDuration } from '../../../common/durations.js';
import type { CaRotationInput } from '../../../workflows/ca/rotation.js';
import { startWorkflowOnce } from '../../start-workflow.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { splitSecretPath } from '../rotation/args.js';
import { UsageError } from '../usage-error.js';
import { followOnTerminal } from '../watch.js';

type Out = (line: string) => void;

export interface CaRotateOptions extends GlobalOptions {
  mount: string;
  issuerName: string;
  commonName: string;
  keyType?: string;
  keyBits?: string;
  ttl?: string;
  baseUrl: string;
  root?: string;
  newRoot?: string;
  grace?: string;
  crlSigning?: string;
  approver?: string[];
  quorum?: string;
  approvalTimeout?: string;
  rolesFollow?: string[];
  keepOldIssuer?: boolean;
  as?: string;
  cluster?: string;
}

const MOUNT = /^[A-Za-z0-9][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const KEY_BITS = { ec: [256, 384, 521], rsa: [2048, 3072, 4096] } as const;
const DAY_MS = 24 * 3600_000;

function duration(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new UsageError(`${flag} "${text}" is not a duration; write e.g. 72h or 30d`);
  return ms;
}

function wholeNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be a whole number, not "${text}"`);
  return Number(text);
}

/** The workflow input, from the options; every problem is a UsageError saying what to fix. */
export function parseCaRotate(opts: CaRotateOptions, requester: string): CaRotationInput {
  if (!MOUNT.test(opts.mount ?? '')) throw new UsageError('--mount must be a PKI mount path such as pki_int');
  if (!NAME.test(opts.issuerName ?? ''))
    throw new UsageError('--issuer-name must be letters, digits, "_" and "-", such as int-2027');
  if (!opts.commonName?.trim())
    throw new UsageError('--common-name must name the new intermediate, e.g. "Example Intermediate CA 2027"');
  const keyType = opts.keyType ?? 'ec';
  if (keyType !== 'ec' && keyType !== 'rsa') throw new UsageError('--key-type must be ec or rsa');
  const keyBits = wholeNumber('--key-bits', opts.keyBits) ?? KEY_BITS[keyType][0];
  if (!(KEY_BITS[keyType] as readonly number[]).includes(keyBits))
    throw new UsageError(`--key-bits for ${keyType} must be one of ${KEY_BITS[keyType].join(', ')}`);
  const intermediateTtlMs = duration('--ttl', opts.ttl) ?? 5 * 365 * DAY_MS;
  if (intermediateTtlMs < DAY_MS) throw new UsageError('--ttl must be at least a day for an intermediate CA');
  if (!/^https?:\/\/\S+$/.test(opts.baseUrl ?? ''))
    throw new UsageError(
      '--base-url must be where clients reach Vault, such as https://vault.example.com:8200',
    );
  const root = splitSecretPath(opts.root ?? 'secret/vaultops/ca/root');
  const newRoot = opts.newRoot === undefined ? undefined : splitSecretPath(opts.newRoot);
  if (newRoot && newRoot.mount === root.mount && newRoot.path === root.path)
    throw new UsageError(
      '--new-root must be another root than --root: the KV path of a root made by ca init-root',
    );
  const graceMs = duration('--grace', opts.grace);
  const crlSigningMs = duration('--crl-signing', opts.crlSigning);
  const rolesFollow = (opts.rolesFollow ?? []).flatMap((r) => r.split(',')).map((r) => r.trim());
  const badRole = rolesFollow.find((r) => !NAME.test(r));
  if (badRole !== undefined) throw new UsageError(`--roles-follow "${badRole}" is not a role name`);
  const approval = {
    requester,
    approvers: (opts.approver ?? []).flatMap((a) => a.split(',')).map((a) => a.trim()),
    quorum: wholeNumber('--quorum', opts.quorum) ?? 1,
    timeout: opts.approvalTimeout ?? '24h',
  };
  const problems = approvalPolicyProblems(approval);
  if (problems.length > 0)
    throw new UsageError(
      `the approval cannot gate the root's signature (${problems.join('; ')}): give --approver <name> (repeatable) and --quorum`,
    );
  return {
    cluster: opts.cluster ?? 'default',
    mount: opts.mount,
    root: { mount: root.mount, path: root.path },
    newIssuerName: opts.issuerName,
    commonName: opts.commonName.trim(),
    keyType,
    keyBits,
    intermediateTtlMs,
    baseUrl: opts.baseUrl,
    approval,
    ...(graceMs === undefined ? {} : { graceMs }),
    ...(crlSigningMs === undefined ? {} : { crlSigningMs }),
    ...(opts.keepOldIssuer ? { keepOldIssuer: true } : {}),
    ...(rolesFollow.length > 0 ? { rolesFollow } : {}),
    ...(newRoot ? { newRoot: { mount: newRoot.mount, path: newRoot.path } } : {}),
  };
}

export const caRotationWorkflowId = (input: CaRotationInput) =>
  `ca-rotate:${input.cluster ?? 'default'}:${input.mount}:${input.newIssuerName}`;

export async function caRotateCommand(opts: CaRotateOptions, out: Out): Promise<void> {
  const input = parseCaRotate(opts, opts.as ?? process.env.USER ?? 'unknown');
  const target = resolveTemporal(opts);
  const workflowId = caRotationWorkflowId(input);
  await withClient(target, (client) =>
    startWorkflowOnce(
      client,
      'caRotationWorkflow',
      { taskQueue: target.temporal.task_queue, workflowId, args: [input] },
      () =>
        new UsageError(
          `a rotation ${workflowId} is running already: \`${VAULTOPS} status ${workflowId}\` shows it`,
        ),
    ),
  );
  if (input.newRoot)
    out(
      `Root rotation: signed by ${input.newRoot.mount}/${input.newRoot.path}, cross-signed by ${input.root.mount}/${input.root.path}; both trusted until the grace period ends`,
    );
  out(
    `Rotating ${input.mount} to a new ${input.keyType} ${input.keyBits} issuer ${input.newIssuerName} ("${input.commonName}"): workflow ${workflowId}`,
  );
  out(
    `  the HSM root signs after ${input.approval.quorum} of ${input.approval.approvers.join(', ')} approve:`,
  );
  out(`    ${VAULTOPS} approve ${workflowId} --as <approver> --reason <text>`);
  out(
    `  grace period: ${opts.grace ?? "the roles' longest leaf TTL"}; then the old issuer signs only CRLs/OCSP, later turns read-only${input.keepOldIssuer ? ' and is kept' : ', and is deleted once it expires'}`,
  );
  out(`  follow it: ${VAULTOPS} status ${workflowId} --follow`);
  await followOnTerminal(target, workflowId, out);
}
