// Prints "N passed, N failed, N skipped" from vitest's JSON report. When the report is missing
// (type-check or lint failed before vitest ran), that failed check is the one failure counted.
import { existsSync, readFileSync } from 'node:fs';

const say = (line) => process.stdout.write(`${line}\n`);

const [reportPath, testExit] = process.argv.slice(2);
if (!existsSync(reportPath)) {
  say(
    `no test report at ${reportPath}: a step before the tests failed (type-check, lint, or a server the global setup starts); see its message above`,
  );
  say('0 passed, 1 failed');
  process.exit(1);
}
const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const passed = report.numPassedTests ?? 0;
const failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
// A suite that failed to load (a server that did not start, say) has no failed tests of its own.
// Nor does one whose beforeAll failed: its tests show as skipped. Count each such suite once.
const brokenSuites = (report.testResults ?? []).filter(
  (r) => r.status === 'failed' && !(r.assertionResults ?? []).some((a) => a.status === 'failed'),
);
const failedTotal = failed + brokenSuites.length;
for (const suite of brokenSuites)
  say(`suite failed before its tests ran: ${suite.name}: ${(suite.message ?? '').split('\n')[0]}`);
if (passed + failedTotal === 0) say('the test runner executed no test');
say(`${passed} passed, ${failedTotal} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failedTotal > 0 || Number(testExit) !== 0 || passed === 0 ? 1 : 0);
