// `vaultops ca init-root`: starts caInitRootWorkflow (the root key made or adopted in the
// worker's HSM, the self-signed root certificate stored in KV), waits for it (seconds), and prints
// what it made. `--out` also writes the certificate (public) to a file, read from KV with the
// user's own VAULT_ADDR/VAULT_TOKEN. Bad input exits 2 before anything starts.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { ROOT_KEY_TYPES, type RootKeyType } from '../../../common/ca/facts.js';
import { type CaSpec, parseCaSpec, ROLE_TEMPLATES } from '../../../common/ca/spec.js';
import { parseDuration } from '../../../common/durations.js';
import type { RoleSpec } from '../../../vault/pki/roles.js';
import type { CaBootstrapInput } from '../../../workflows/ca/bootstrap.js';
import type { CaInitRootInput, CaInitRootResult } from '../../../workflows/ca/init-root.js';
import { startWorkflowOnce } from '../../start-workflow.js';
import { type GlobalOptions, resolveTemporal, withClient } from '../../temporal-client.js';
import { VAULTOPS } from '../invocation.js';
import { splitSecretPath } from '../rotation/args.js';
import { withUserVault } from '../rotation/vault-reads.js';
import { UsageError } from '../usage-error.js';
import { followOnTerminal } from '../watch.js';

type Out = (line: string) => void;

export interface CaInitRootOptions extends GlobalOptions {
  label: string;
  keyType?: string;
  subject: string;
  ttl?: string;
  adopt?: boolean;
  store?: string;
  out?: string;
  cluster?: string;
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SUBJECT = /^(?:[A-Za-z]+=[^,=]+)(?:,\s*[A-Za-z]+=[^,=]+)*$/;
const TEN_YEARS_MS = 10 * 365 * 24 * 3600_000;

/** The workflow input, from the options; every problem is a UsageError saying what to fix. */
export function parseInitRoot(opts: CaInitRootOptions): CaInitRootInput {
  if (!LABEL.test(opts.label ?? ''))
    throw new UsageError(
      '--label must be a token key label: letters, digits, ".", "_", "-", e.g. vaultops-root-r1',
    );
  const keyType = (opts.keyType ?? 'ec-p384') as RootKeyType;
  if (!ROOT_KEY_TYPES.includes(keyType))
    throw new UsageError(`--key-type must be one of ${ROOT_KEY_TYPES.join(', ')}`);
  if (!SUBJECT.test(opts.subject ?? ''))
    throw new UsageError('--subject must be a distinguished name such as "CN=Example Root CA R1, O=Example"');
  let ttlMs = TEN_YEARS_MS;
  if (opts.ttl !== undefined) {
    const parsed = parseDuration(opts.ttl);
    if (parsed === undefined)
      throw new UsageError(`--ttl "${opts.ttl}" is not a duration; write e.g. 87600h or 3650d`);
    ttlMs = parsed;
    if (ttlMs < 24 * 3600_000) throw new UsageError('--ttl must be at least a day for a root CA');
  }
  const store = splitSecretPath(opts.store ?? 'secret/vaultops/ca/root');
  return {
    cluster: opts.cluster ?? 'default',
    keyLabel: opts.label,
    keyType,
    adopt: opts.adopt ?? false,
    subject: opts.subject,
    ttlMs,
    store: { mount: store.mount, path: store.path },
  };
}

export async function caInitRootCommand(opts: CaInitRootOptions, out: Out): Promise<void> {
  const input = parseInitRoot(opts);
  const target = resolveTemporal(opts);
  const workflowId = `ca-init-root:${input.cluster}:${input.keyLabel}`;
  const result = await withClient(target, async (client) => {
    let handle: WorkflowHandle;
    try {
      handle = await client.workflow.start('caInitRootWorkflow', {
        taskQueue: target.temporal.task_queue,
        workflowId,
        args: [input],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      handle = client.workflow.getHandle(workflowId); // running already: wait for that one
    }
    out(`Initialising root "${input.keyLabel}": workflow ${workflowId}`);
    try {
      return (await handle.result()) as CaInitRootResult;
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        let cause: Error | undefined = err.cause;
        while (cause?.cause instanceof Error) cause = cause.cause;
        throw new Error(`root not initialised: ${cause?.message ?? err.message}`);
      }
      throw err;
    }
  });
  out(
    `Key          ${result.key.keyType} "${result.key.keyLabel}" in the HSM (${result.key.created ? 'made now' : 'found'}; never leaves it)`,
  );
  out(`Public key   sha256 ${result.key.publicKeySha256}`);
  out(
    `Certificate  ${result.certificate.issued ? 'issued' : 'found'}: SHA-256 ${result.certificate.fingerprint}`,
  );
  out(`             serial ${result.certificate.serial}, valid to ${result.certificate.notAfter}`);
  out(`Stored at    ${result.store.mount}/${result.store.path} (version ${result.certificate.version})`);
  if (opts.out) {
    const pem = await withUserVault(result.store, async (vault) => {
      const { readSecret } = await import('../../../vault/kv.js');
      return String((await readSecret(vault, result.store.mount, result.store.path)).data.certificate ?? '');
    });
    writeFileSync(opts.out, pem);
    out(`Written to   ${opts.out}`);
  }
}

export interface CaBootstrapOptions extends GlobalOptions {
  spec: string;
  as?: string;
  cluster?: string;
}

/** The workflow input from a spec file: the roles from their templates, the requester from --as. */
export function bootstrapInput(spec: CaSpec, requester: string, cluster: string): CaBootstrapInput {
  const root = splitSecretPath(spec.root);
  const ttlMs = parseDuration(spec.ttl) as number;
  const roles: Record<string, RoleSpec> = {};
  for (const [name, r] of Object.entries(spec.roles)) {
    roles[name] = {
      ...ROLE_TEMPLATES[r.template],
      allowedDomains: r.allowed_domains,
      allowSubdomains: r.allow_subdomains,
      allowBareDomains: r.allow_bare_domains,
      maxTtl: r.max_ttl,
      ...(r.ttl ? { ttl: r.ttl } : {}),
      keyType: r.key_type,
      ...(r.key_bits ? { keyBits: r.key_bits } : {}),
    };
  }
  return {
    cluster,
    mount: spec.mount,
    root: { mount: root.mount, path: root.path },
    commonName: spec.common_name,
    issuerName: spec.issuer_name,
    keyType: spec.key_type,
    ...(spec.key_bits ? { keyBits: spec.key_bits } : {}),
    intermediateTtlMs: ttlMs,
    baseUrl: spec.base_url,
    roles,
    approval: {
      requester,
      approvers: spec.approval.approvers,
      quorum: spec.approval.quorum,
      timeout: spec.approval.timeout,
    },
  };
}

export async function caBootstrapCommand(opts: CaBootstrapOptions, out: Out): Promise<void> {
  let text: string;
  try {
    text = readFileSync(opts.spec, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--spec ${opts.spec} cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  const requester = opts.as ?? process.env.USER ?? 'unknown';
  const input = bootstrapInput(parseCaSpec(text, opts.spec), requester, opts.cluster ?? 'default');
  const target = resolveTemporal(opts);
  const workflowId = `ca-bootstrap:${input.cluster}:${input.mount}:${input.issuerName}`;
  await withClient(target, (client) =>
    startWorkflowOnce(
      client,
      'caBootstrapWorkflow',
      { taskQueue: target.temporal.task_queue, workflowId, args: [input] },
      () =>
        new UsageError(
          `a bootstrap ${workflowId} is running already: \`${VAULTOPS} status ${workflowId}\` shows it`,
        ),
    ),
  );
  out(
    `Bootstrapping ${input.mount} ("${input.commonName}", issuer ${input.issuerName}): workflow ${workflowId}`,
  );
  out(
    `  roles: ${Object.keys(input.roles).join(', ')}; the HSM root signs after ${input.approval.quorum} of ${input.approval.approvers.join(', ')} approve:`,
  );
  out(`    ${VAULTOPS} approve ${workflowId} --as <approver> --reason <text>`);
  out(`  follow it: ${VAULTOPS} status ${workflowId} --follow`);
  await followOnTerminal(target, workflowId, out);
}
