// Example of seal-aware steps: write a series of marker secrets, one step each, with a pause
// between them. Seal Vault in the middle and the remaining steps queue; unseal it and they run,
// each once, in order. The seal tests run this workflow.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { MarkerActivities } from '../../activities/markers.js';
import { SEAL_AWARE_RETRY, sealAware } from '../lib/seal-aware.js';

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
  const written: string[] = [];
  for (let i = 1; i <= input.steps; i++) {
    const step = `step-${String(i).padStart(2, '0')}`;
    await sealAware(
      step,
      () => vault.writeMarker({ mount: input.mount, path: `${input.prefix}/${step}`, value: step }),
      input.cluster ? { cluster: input.cluster } : {},
    );
    written.push(step);
    if (i < input.steps) await sleep(input.pauseMs);
  }
  return { written };
}
