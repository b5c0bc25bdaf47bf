// Where the recorded histories live, and the switch that records them. No Temporal imports: the
// recorder script loads this under plain Node.
import { join } from 'node:path';
import { REPO_DIR } from '../../client/stack/tools.js';

export const HISTORIES_DIR = join(REPO_DIR, 'test/histories');

/** Set by test/histories/record.ts: write the histories that have no file yet. */
export const RECORD_ENV = 'VAULTOPS_RECORD_MISSING_HISTORIES';

/** The workflow type a stored history (Temporal's JSON form) starts. */
export const workflowTypeOf = (json: {
  events?: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
}): string | undefined => json.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
