// A command that blocks on a workflow (a drill's result, an approval before a token) reports how it
// goes instead of going quiet: what the workflow waits for and what to do, each time that changes,
// and on a terminal every change of step as `vaultops status --follow` prints it. Progress goes to
// stderr, so that stdout stays the command's own output (a report, JSON, a token).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { type TemporalTarget, withClient } from '../temporal-client.js';
import { waitingFor } from '../waiting-for.js';
import { changeLines, lookAt, type StatusView, WorkflowClosedError } from './status.js';

export interface WatchOptions {
  /** Every change of step (a terminal), or only what the workflow waits for. */
  live?: boolean;
  intervalMs?: number;
  print?: (line: string) => void;
}

const toStderr = (line: string) => {
  process.stderr.write(`${line}\n`);
};

/** Reports on `workflowId` until `waiting` settles, then settles as it did. */
export async function reportWhile<T>(
  client: Client,
  workflowId: string,
  waiting: Promise<T>,
  { live = process.stderr.isTTY === true, intervalMs = 1000, print = toStderr }: WatchOptions = {},
): Promise<T> {
  let settled = false;
  const done = waiting.finally(() => {
    settled = true;
  });
  // Handled here as well, so that a failure while a look is under way is not "unhandled".
  done.catch(() => {});
  let previous: StatusView | undefined;
  while (!settled) {
    try {
      const view = await lookAt(client, workflowId, client.options.namespace);
      if (settled) break;
      if (live) for (const line of changeLines(previous, view)) print(line);
      else {
        const now = waitingFor(view);
        if (now && now !== (previous && waitingFor(previous))) print(now);
      }
      previous = view;
    } catch {
      // A look that fails (a worker restarting) leaves the report for the next one.
    }
    await Promise.race([done.catch(() => {}), sleep(intervalMs)]);
  }
  // On a terminal, the last changes too: the steps that finished while the wait ended.
  if (live)
    await lookAt(client, workflowId, client.options.namespace).then(
      (view) => {
        for (const line of changeLines(previous, view)) print(line);
      },
      () => {},
    );
  return done;
}

/**
 * After a command started a long workflow: on a terminal, follow it live until it closes (Ctrl-C
 * leaves it running), and fail as `status --follow` does unless it completes; elsewhere (a
 * script, a pipe) return at once, as the command always did.
 */
export async function followOnTerminal(
  target: TemporalTarget,
  workflowId: string,
  out: (line: string) => void,
): Promise<void> {
  if (process.stdout.isTTY !== true) return;
  out('Following it here (Ctrl-C stops following; the workflow keeps running):');
  const status = await withClient(target, (client) => {
    const handle = client.workflow.getHandle(workflowId);
    const closed = handle.result().then(
      () => 'COMPLETED',
      async () => (await handle.describe()).status.name,
    );
    return reportWhile(client, workflowId, closed, { live: true, print: out });
  });
  if (status !== 'COMPLETED') throw new WorkflowClosedError(workflowId, status);
}
