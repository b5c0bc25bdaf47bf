// Recorded histories of the production workflows, written by the unit workflow tests' own runs
// (their stand-in activities) when `npm run histories:record` asks for it, and replayed against
// today's bundle by test/unit/histories.replay.test.ts. A test calls keepHistory() on its
// representative run; in an ordinary test run that does nothing.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { findRememberedSecrets } from '../harness/history-scan.js';
import { HISTORIES_DIR, RECORD_ENV } from './paths.js';

type History = temporal.api.history.v1.IHistory;

/**
 * Writes `<name>.json` when recording and no such file exists. An existing history is never
 * overwritten: re-recording it would hide exactly the change its replay is there to catch.
 */
export async function keepHistory(name: string, handle: { fetchHistory(): Promise<History> }): Promise<void> {
  if (process.env[RECORD_ENV] !== '1') return;
  const file = join(HISTORIES_DIR, `${name}.json`);
  if (existsSync(file)) return;
  const history = await handle.fetchHistory();
  // The stand-ins register the values they hand out as secrets; none may reach a stored file.
  const found = await findRememberedSecrets(history);
  if (found.length > 0) throw new Error(`${name}: not recorded, it holds secrets:\n  ${found.join('\n  ')}`);
  const json = temporal.api.history.v1.History.fromObject(history).toJSON();
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
}
