// The fence watch of the DR runbooks: old-primary nodes that did not answer at the fence are
// watched in the background, to the end of the run, and fenced (sealed, or demoted) the moment
// they answer. It never rejects: a watch that fails is recorded per node as failed, and the run
// goes on (it only rolls forward after the fence).
import { proxyActivities } from '@temporalio/workflow';
import { UNTIL_IT_WORKS } from '../../lib/activity-presets.js';
import { failureDetail, type StepTracker } from '../../lib/status.js';

interface NodeRecord {
  address: string;
  outcome: string;
  detail: string;
  at: string;
}

/** The watch activity's options: it runs as long as the watch, heartbeating. */
export function watchActivities<A extends object>(watchMs: number): A {
  return proxyActivities<A>({
    startToCloseTimeout: watchMs + 120_000,
    heartbeatTimeout: '30 seconds',
    retry: UNTIL_IT_WORKS,
  }) as A;
}

export function watchInBackground<R extends NodeRecord, N extends string>(o: {
  /** The addresses still to fence. */
  open: string[];
  watchMs: number;
  steps: StepTracker<N>;
  step: N;
  /** "sealing" or "demoting", for the status line. */
  verb: string;
  /** Nothing to watch: the status line says so, e.g. "every node fenced at once". */
  allDone: string;
  watch: (until: string) => Promise<R[]>;
  describe: (records: R[]) => string;
}): Promise<R[]> {
  const { open, steps, step } = o;
  if (open.length === 0) {
    steps.set(step, 'done', `${o.allDone}: nothing to watch`);
    return Promise.resolve([]);
  }
  const until = new Date(Date.now() + o.watchMs).toISOString();
  steps.set(step, 'running', `${o.verb} ${open.join(', ')} when they answer, until ${until}`);
  return o.watch(until).then(
    (records) => {
      steps.set(step, 'done', o.describe(records));
      return records;
    },
    (err: unknown) => {
      steps.set(step, 'failed', failureDetail(err));
      return open.map(
        (address) =>
          ({
            address,
            outcome: 'failed',
            detail: `the watch failed: ${failureDetail(err)}`,
            at: new Date(Date.now()).toISOString(),
          }) as R,
      );
    },
  );
}
