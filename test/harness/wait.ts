// Polling for a condition in tests that watch real servers (there is no event to wait on).
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` every 100 ms until it holds; fails after `timeoutMs`, naming `what`. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}
