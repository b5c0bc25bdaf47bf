// What a running workflow waits for and what a person does about it, in one line: the CLI prints it
// while a command blocks on a workflow and in `vaultops status`, so that a wait never looks like a
// hang. Type-only imports of workflow code: this loads nothing heavy.
import type { ApprovalState } from '../common/approval.js';
import type { StepStatus } from '../workflows/lib/status.js';
import { VAULTOPS } from './commands/invocation.js';

export interface WaitingView {
  workflowId: string;
  status: string;
  steps: { steps: StepStatus[] } | null;
  approval: ApprovalState | null;
}

/** The wait and its remedy, or null while the workflow waits for nobody. */
export function waitingFor(view: WaitingView): string | null {
  if (view.status !== 'RUNNING' || !view.steps) return null;
  const id = view.workflowId;
  for (const step of view.steps.steps) {
    if (step.state === 'waiting-approval') {
      // The migration's freeze is a confirmation, not an approval: the operator stops the writes.
      if (step.name === 'freeze')
        return `waiting for the freeze: once writes to the source have stopped, run \`${VAULTOPS} migrate freeze ${id} --as <you>\``;
      const a = view.approval;
      const tally =
        a?.status === 'pending'
          ? ` (${a.approvals.length} of ${a.quorum}; approvers ${a.approvers.join(', ')})`
          : '';
      return `waiting for approval${tally}: approvers run \`${VAULTOPS} approve ${id} --as <approver> --reason <text>\``;
    }
    if (step.state === 'queued-sealed') return waitingForUnseal(id, step);
  }
  return null;
}

/** The DR runbooks' ids name their clusters: dr-<kind>:<source>:<target>[:<time>]. */
const DR_ID = /^dr-(drill|failover|failback):([^:]+):([^:]+)/;

function waitingForUnseal(id: string, step: StepStatus): string {
  const detail = step.detail ?? '';
  const dr = id.match(DR_ID);
  const cluster =
    detail.match(/--cluster (\S+)/)?.[1] ?? detail.match(/waiting for (\S+) to be unsealed/)?.[1] ?? dr?.[3];
  const who = cluster ? `${cluster}'s unseal` : 'the unseal';
  if (detail.includes('unseal-share'))
    return `waiting for ${who}: key holders run \`${VAULTOPS} dr unseal-share ${id} --cluster ${cluster}\``;
  // A drill restores the source's keyring into the target: the source's key holders unseal it.
  const keys = dr?.[1] === 'drill' ? ` with ${dr[2]}'s unseal keys` : '';
  return `waiting for ${who} (step ${step.name}): key holders unseal ${cluster ?? 'it'}${keys} (\`bao operator unseal\` or \`vault operator unseal\` against each node)`;
}

/** Step details name vaultops commands as `vaultops ...`; print them as the user runs them. */
export const runnableHints = (text: string): string =>
  VAULTOPS === 'vaultops' ? text : text.replace(/(?<![\w-]|npx )vaultops (?=[a-z])/g, `${VAULTOPS} `);
