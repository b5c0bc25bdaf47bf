// After a restart, `vaultops dev` finds the workflows an earlier run left running: the Temporal dev
// server keeps its SQLite history, but the OpenBao dev server (and a DR pair) start empty, so
// those workflows go on against state that is gone. Say which, and how to end them or start clean.
import type { Client } from '@temporalio/client';
import { SEAL_GUARD_WORKFLOW } from '../common/workflow-types.js';
import { VAULTOPS } from './commands/invocation.js';

export interface Leftover {
  workflowId: string;
  type: string;
  startTime: Date;
}

/**
 * The worker's own seal guards run for as long as the stack does, across restarts: the new worker
 * takes them over and they watch the new Vault by its cluster name, so they are no leftovers.
 */
const STACK_OWN_TYPES = new Set<string>([SEAL_GUARD_WORKFLOW]);

/** Running workflows started before `since` (this start of the stack), oldest first. */
export async function leftoverWorkflows(client: Client, since: Date): Promise<Leftover[]> {
  const found: Leftover[] = [];
  for await (const w of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
    if (w.startTime < since && !STACK_OWN_TYPES.has(w.type))
      found.push({ workflowId: w.workflowId, type: w.type, startTime: w.startTime });
  }
  return found.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
}

/** What to tell the user about them (nothing when there are none). */
export function describeLeftovers(leftovers: readonly Leftover[]): string[] {
  if (leftovers.length === 0) return [];
  const n = leftovers.length;
  return [
    `${n} workflow${n === 1 ? '' : 's'} from an earlier run ${n === 1 ? 'is' : 'are'} still running, against servers whose in-memory state is gone:`,
    ...leftovers.map((w) => `    ${w.workflowId} (${w.type}, started ${w.startTime.toISOString()})`),
    `  end one: ${VAULTOPS} cancel <workflow-id>; or start clean: ${VAULTOPS} dev --reset`,
  ];
}
