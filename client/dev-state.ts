// The running dev stack leaves a small state file (addresses only, never a token) so that
// `vaultops preflight` in another terminal finds it without any environment variables.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { REPO_DIR } from './stack/tools.js';

export const DEFAULT_STATE_DIR = process.env.VAULTOPS_STATE_DIR ?? join(REPO_DIR, '.vaultops', 'dev');

const stackStateSchema = z.object({
  pid: z.number().int(),
  temporalAddress: z.string(),
  temporalNamespace: z.string(),
  taskQueue: z.string(),
  uiUrl: z.string(),
  vaultAddress: z.string(),
  vaultFlavour: z.string(),
});
export type StackState = z.infer<typeof stackStateSchema>;

const stateFile = (stateDir: string) => join(stateDir, 'stack.json');

export function writeStackState(stateDir: string, state: StackState): void {
  writeFileSync(stateFile(stateDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
}

export function clearStackState(stateDir: string): void {
  rmSync(stateFile(stateDir), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The state of a dev stack that is running now, or undefined. */
export function readRunningStack(stateDir = DEFAULT_STATE_DIR): StackState | undefined {
  const file = stateFile(stateDir);
  if (!existsSync(file)) return undefined;
  const parsed = stackStateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success || !alive(parsed.data.pid)) return undefined;
  return parsed.data;
}

export function workflowHistoryUrl(
  uiUrl: string,
  namespace: string,
  workflowId: string,
  runId: string,
): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}
