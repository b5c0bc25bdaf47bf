// The running dev stack leaves a small state file (addresses only, never a token) so that
// `vaultops preflight` in another terminal finds it without any environment variables.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { REPO_DIR } from './repo-dir.js';

export const DEFAULT_STATE_DIR = process.env.VAULTOPS_STATE_DIR ?? join(REPO_DIR, '.vaultops', 'dev');

const stackStateSchema = z.object({
  pid: z.number().int(),
  temporalAddress: z.string(),
  temporalNamespace: z.string(),
  taskQueue: z.string(),
  uiUrl: z.string(),
  vaultAddress: z.string(),
  vaultFlavour: z.string(),
  /** `vaultops dev --dr`: each cluster's API address by name (dr-primary, dr-standby). */
  clusters: z.record(z.string(), z.string()).optional(),
});
export type StackState = z.infer<typeof stackStateSchema>;

const stateFile = (stateDir: string) => join(stateDir, 'stack.json');

export function writeStackState(stateDir: string, state: StackState): void {
  writeFileSync(stateFile(stateDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
}

export function clearStackState(stateDir: string): void {
  rmSync(stateFile(stateDir), { force: true });
}

/** The shell exports that point `vault`, `bao`, `temporal` (and vaultops) at a running stack. */
export interface StackEnv {
  vaultAddress: string;
  vaultToken: string;
  temporalAddress: string;
  temporalNamespace: string;
  uiUrl: string;
  /** `vaultops dev --dr`: the DR pair, and where protection keeps its snapshots. */
  dr?: {
    primaryAddress: string;
    primaryToken: string;
    /** The primary's one key share: after a restore the standby unseals with it. */
    primaryUnsealKey: string;
    standbyAddress: string;
    snapshotDir: string;
  };
}

const envFile = (stateDir: string) => join(stateDir, 'env.sh');
const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/** As `vault server -dev` prints them; OpenBao's CLI reads BAO_*, HashiCorp's VAULT_*. */
export function stackExports(env: StackEnv): string[] {
  const vault = {
    VAULT_ADDR: env.vaultAddress,
    VAULT_TOKEN: env.vaultToken,
    BAO_ADDR: env.vaultAddress,
    BAO_TOKEN: env.vaultToken,
  };
  // TEMPORAL_UI_URL is vaultops' own: with TEMPORAL_ADDRESS set it still prints history links.
  const temporal = {
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_NAMESPACE: env.temporalNamespace,
    TEMPORAL_UI_URL: env.uiUrl,
  };
  const line = (vars: Record<string, string>) =>
    `export ${Object.entries(vars)
      .map(([name, value]) => `${name}=${shellQuote(value)}`)
      .join(' ')}`;
  // VAULTOPS_DR_* are vaultops' own (docs/dr.md's walkthroughs use them);
  // VAULTOPS_SNAPSHOT_DIR is where `dr snapshots` reads the manifest.
  const dr = env.dr && {
    VAULTOPS_DR_PRIMARY_ADDR: env.dr.primaryAddress,
    VAULTOPS_DR_PRIMARY_TOKEN: env.dr.primaryToken,
    VAULTOPS_DR_UNSEAL_KEY: env.dr.primaryUnsealKey,
    VAULTOPS_DR_STANDBY_ADDR: env.dr.standbyAddress,
    VAULTOPS_SNAPSHOT_DIR: env.dr.snapshotDir,
  };
  return [line(vault), line(temporal), ...(dr ? [line(dr)] : [])];
}

/**
 * Writes the exports to `env.sh` for `source`. It holds the dev root token, which the user asked
 * for, so it is created afresh at mode 0600 (an old file's wider mode would survive a rewrite).
 */
export function writeStackEnv(stateDir: string, env: StackEnv): string {
  const file = envFile(stateDir);
  rmSync(file, { force: true });
  const text = [
    '# The running `vaultops dev` stack; removed when it stops. Holds its root token: keep it mode 0600.',
    ...stackExports(env),
    '',
  ].join('\n');
  writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  return file;
}

export function clearStackEnv(stateDir: string): void {
  rmSync(envFile(stateDir), { force: true });
}

/**
 * What a restart of the dev stack keeps that belongs to servers it does not keep: the Temporal
 * history (its workflows went on against an in-memory Vault that is gone) and the DR snapshots
 * (of a pair made fresh each start). The codec key and the SoftHSM2 token stay.
 */
const EARLIER_RUN = ['temporal.sqlite', 'temporal.sqlite-wal', 'temporal.sqlite-shm', 'snapshots'];

/** `vaultops dev --reset`: forgets the earlier runs; returns what it removed. */
export function resetDevHistory(stateDir: string): string[] {
  // A running stack's history is not an earlier run's: removing it under its server loses it.
  const running = readRunningStack(stateDir);
  if (running)
    throw new Error(
      `a dev stack is running on ${stateDir} (pid ${running.pid}): stop it first (Ctrl-C in its terminal), then reset`,
    );
  return EARLIER_RUN.filter((name) => existsSync(join(stateDir, name))).map((name) => {
    rmSync(join(stateDir, name), { recursive: true, force: true });
    return name;
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A state file we cannot read: the user has to remove it, so the CLI exits 2 with how. */
export class StackStateError extends Error {
  override name = 'StackStateError';
  constructor(file: string, problem: string) {
    super(`${file} ${problem}: delete it or run \`vaultops dev\` again, which rewrites it`);
  }
}

/** The state of a dev stack that is running now, or undefined. */
export function readRunningStack(stateDir = DEFAULT_STATE_DIR): StackState | undefined {
  const file = stateFile(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StackStateError(file, `cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new StackStateError(file, `is not valid JSON (${(err as Error).message})`);
  }
  const parsed = stackStateSchema.safeParse(json);
  if (!parsed.success) {
    throw new StackStateError(file, 'is not a dev stack state file this version of vaultops understands');
  }
  return alive(parsed.data.pid) ? parsed.data : undefined;
}

export function workflowHistoryUrl(
  uiUrl: string,
  namespace: string,
  workflowId: string,
  runId: string,
): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}
