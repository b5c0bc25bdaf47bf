// `vaultops status` steps: a step still pending when the workflow has closed never runs, so a
// completed migration does not show its rollback as pending.
import { describe, expect, it } from 'vitest';
import { formatSteps } from '../../client/format-approval.js';
import type { StepStatus, WorkflowStatusReport } from '../../workflows/lib/status.js';

const step = (name: string, state: StepStatus['state']): StepStatus => ({
  name,
  state,
  detail: null,
  since: state === 'pending' ? null : '2026-12-01T00:00:00.000Z',
});

// The end of a migration that cut over and retired its source: the rollback never ran.
const migration: WorkflowStatusReport = {
  steps: [step('cutover', 'done'), step('retire', 'done'), step('rollback', 'pending')],
};

const stateOf = (lines: string[], name: string) =>
  lines.find((l) => l.includes(` ${name} `))?.match(new RegExp(`${name}\\s+(.*?)( since|$)`))?.[1];

describe('formatSteps', () => {
  it('a completed workflow: its pending rollback was not needed', () => {
    const lines = formatSteps(migration, 'COMPLETED');
    expect(stateOf(lines, 'rollback')).toBe('not needed');
    expect(stateOf(lines, 'cutover')).toBe('done');
    expect(lines.join('\n')).not.toContain('pending');
  });

  it('a failed or cancelled workflow: a pending step was not reached', () => {
    expect(stateOf(formatSteps(migration, 'FAILED'), 'rollback')).toBe('not reached');
    expect(stateOf(formatSteps(migration, 'CANCELLED'), 'rollback')).toBe('not reached');
  });

  it('a running workflow, or one whose status is not known: pending is pending', () => {
    expect(stateOf(formatSteps(migration, 'RUNNING'), 'rollback')).toBe('pending');
    expect(stateOf(formatSteps(migration), 'rollback')).toBe('pending');
  });
});
