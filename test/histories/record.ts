// `npm run histories:record`: runs the unit workflow tests that keep a history (keepHistory) with
// recording on, so each production workflow's representative run, with the tests' own stand-in
// activities, is written to test/histories/ when it has no file yet. Then says which production
// workflows still have none. Run it on purpose, for a new workflow or a new recorded path; never
// delete a history to re-record it after a change (use patched() in the workflow instead).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from '../../client/stack/tools.js';
import { WORKFLOW_TYPES } from '../../common/workflow-types.js';
import { HISTORIES_DIR, RECORD_ENV, workflowTypeOf } from './paths.js';

const unitDir = join(REPO_DIR, 'test/unit');
const recorders = readdirSync(unitDir)
  .filter((f) => f.endsWith('.workflow.test.ts'))
  .filter((f) => readFileSync(join(unitDir, f), 'utf8').includes('keepHistory('))
  .map((f) => join('test/unit', f));

const run = spawnSync('npx', ['vitest', 'run', '--project', 'unit', ...recorders, ...process.argv.slice(2)], {
  cwd: REPO_DIR,
  stdio: 'inherit',
  env: { ...process.env, [RECORD_ENV]: '1' },
});

const recorded = new Map<string, string[]>();
for (const file of readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'))) {
  const type = workflowTypeOf(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')));
  if (type) recorded.set(type, [...(recorded.get(type) ?? []), file]);
}
const missing = WORKFLOW_TYPES.filter((t) => !recorded.has(t));
const say = (line: string) => process.stdout.write(`${line}\n`);
say(`\n${HISTORIES_DIR}: ${[...recorded.values()].reduce((n, files) => n + files.length, 0)} histories`);
for (const [type, files] of recorded) say(`  ${type}: ${files.join(', ')}`);
if (missing.length > 0) say(`no history yet: ${missing.join(', ')}`);
process.exit(run.status ?? 1);
