// The rotation labels in a secret's custom_metadata: parsed with validation, written back without
// losing the keys that are not ours.
import { describe, expect, it } from 'vitest';
import {
  formatRotationLabels,
  idleRole,
  parseRotationLabels,
  pendingPath,
  RotationLabelError,
} from '../../common/rotation/labels.js';

describe('rotation labels', () => {
  it('round-trips and keeps other custom_metadata keys', () => {
    const custom = formatRotationLabels(
      { current: 3, previous: 2, pending: 1, rotation: 'rot-1', state: 'tested' },
      { owner: 'team-a', vaultops_pending: '9' },
    );
    expect(custom).toEqual({
      owner: 'team-a',
      vaultops_current: '3',
      vaultops_previous: '2',
      vaultops_pending: '1',
      vaultops_rotation: 'rot-1',
      vaultops_rotation_state: 'tested',
    });
    expect(parseRotationLabels(custom)).toEqual({
      current: 3,
      previous: 2,
      pending: 1,
      rotation: 'rot-1',
      state: 'tested',
    });
  });

  it('drops unset labels', () => {
    expect(formatRotationLabels({ current: 4 }, { vaultops_rotation: 'x', vaultops_pending: '2' })).toEqual({
      vaultops_current: '4',
    });
    expect(parseRotationLabels(null)).toEqual({});
  });

  it('refuses malformed labels', () => {
    expect(() => parseRotationLabels({ vaultops_current: 'three' })).toThrow(RotationLabelError);
    expect(() => parseRotationLabels({ vaultops_current: '0' })).toThrow(RotationLabelError);
    expect(() => parseRotationLabels({ vaultops_rotation_state: 'odd' })).toThrow(/not one of/);
    expect(() => parseRotationLabels({ vaultops_rotation: 'has space' })).toThrow(RotationLabelError);
    expect(() => parseRotationLabels({ vaultops_current: '2', vaultops_previous: '2' })).toThrow(/previous/);
    expect(() => formatRotationLabels({ current: 0 })).toThrow(RotationLabelError);
  });

  it('names the pending sibling and the idle role', () => {
    expect(pendingPath('app/db')).toBe('app/db.pending');
    expect(idleRole('app', 'app_a')).toBe('app_b');
    expect(idleRole('app', 'app_b')).toBe('app_a');
    expect(idleRole('app', undefined)).toBe('app_a');
  });
});
