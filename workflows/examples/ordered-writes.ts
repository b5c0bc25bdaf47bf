// Example of seal-aware steps: write a series of marker secrets, one step each, with a pause
// between them. Seal Vault in the middle and the remaining steps queue; unseal it and they run,
// each once, in order. The seal tests and the worker-kill test (test/e2e/) run this workflow.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { MarkerActivities } from '../../activities/markers.js';
import { SEAL_AWARE_RETRY, sealAware } from '../lib/seal-aware.js';
import { trackSteps } from '../lib/status.js';

const vault = proxyActivities<MarkerActivities>({
  startToCloseTimeout: '30 seconds',
  retry: SEAL_AWARE_RETRY,
});

export interface OrderedWritesInput {
  mount: string;
  /** Markers go to `${prefix}/step-01`, `${prefix}/step-02`, ... */
  prefix: string;
  steps: number;
  pauseMs: number;
  cluster?: string;
}

export async function orderedWritesWorkflow(input: OrderedWritesInput): Promise<{ written: string[] }> {
  const names = Array.from({ length: input.steps }, (_, i) => `step-${String(i + 1).padStart(2, '0')}`);
  // `vaultops status` shows each step, and `queued-sealed` while one waits for an unseal. Queries
  // add no commands: histories written before the steps were tracked replay unchanged.
  const steps = trackSteps(names);
  const written: string[] = [];
  for (const [i, step] of names.entries()) {
    await steps.run(step, () =>
      sealAware(
        step,
        () =>
          vault.writeMarker({
            mount: input.mount,
            path: `${input.prefix}/${step}`,
            value: step,
            ...(input.cluster ? { cluster: input.cluster } : {}),
          }),
        {
          ...(input.cluster ? { cluster: input.cluster } : {}),
          onQueued: () => steps.set(step, 'queued-sealed', 'Vault is sealed: queued with the seal guard'),
          onReleased: () => steps.set(step, 'running', 'released after the unseal'),
        },
      ),
    );
    written.push(step);
    if (i < names.length - 1) await sleep(input.pauseMs);
  }
  return { written };
}
