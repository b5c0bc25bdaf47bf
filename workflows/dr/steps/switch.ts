// The switch step of the DR runbooks (failover, failback): the current-primary record (file and
// KV on the new primary), then the operator's hook with VAULTOPS_DR_NEW_PRIMARY, run once.
import { workflowInfo } from '@temporalio/workflow';
import type { DrFailoverActivities } from '../../../activities/dr/failover.js';
import type { HookResult } from '../../../activities/dr/switch.js';
import type { StepTracker } from '../../lib/status.js';

const HOOK_TIMEOUT_MS = 120_000;

export interface SwitchResult {
  recordFile: string;
  kv: string;
  hook: HookResult | null;
}

export async function switchPrimary<N extends string>(o: {
  act: Pick<DrFailoverActivities, 'drSwitchPrimary'>;
  /** The hook's proxy: one attempt, whatever happens (a DNS change or a page may not be idempotent). */
  once: Pick<DrFailoverActivities, 'drRunHook'>;
  steps: StepTracker<N>;
  step: N;
  /** Runs the step: seal-aware on the new primary. */
  run: (step: N, fn: () => Promise<SwitchResult>) => Promise<SwitchResult>;
  newPrimary: string;
  oldPrimary: string;
  snapshotId: string;
  hook: string | undefined;
  hookTimeoutMs: number | undefined;
  /** The status line's words for the new primary, e.g. "is primary again". */
  isPrimary: string;
}): Promise<SwitchResult> {
  const { newPrimary, oldPrimary } = o;
  const switched = await o.run(o.step, async () => {
    const record = await o.act.drSwitchPrimary({
      newPrimary,
      oldPrimary,
      snapshotId: o.snapshotId,
      workflowId: workflowInfo().workflowId,
      since: new Date(Date.now()).toISOString(),
    });
    const hook = o.hook
      ? await o.once.drRunHook({
          command: o.hook,
          newPrimary,
          oldPrimary,
          timeoutMs: o.hookTimeoutMs ?? HOOK_TIMEOUT_MS,
        })
      : null;
    return { recordFile: record.recordFile, kv: record.kv, hook };
  });
  o.steps.set(
    o.step,
    'done',
    `${newPrimary} ${o.isPrimary} (${switched.recordFile}, ${switched.kv}; \`vaultops dr primary --env\` gives its VAULT_ADDR)${switched.hook ? `; hook exit ${switched.hook.exitCode ?? switched.hook.signal}` : ''}`,
  );
  return switched;
}
