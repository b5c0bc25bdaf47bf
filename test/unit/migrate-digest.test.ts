// The digests a migration compares (activities/migrate/digest.ts): equal content, equal digest,
// however the server ordered its JSON; any change in content, another digest.
import { describe, expect, it } from 'vitest';
import { canonicalJson, digestOf } from '../../activities/migrate/digest.js';

describe('migration digests', () => {
  it('ignore key order at every level', () => {
    const a = { user: 'app', nested: { b: 2, a: [1, { y: 1, x: 2 }] } };
    const b = { nested: { a: [1, { x: 2, y: 1 }], b: 2 }, user: 'app' };
    expect(canonicalJson(a)).toBe('{"nested":{"a":[1,{"x":2,"y":1}],"b":2},"user":"app"}');
    expect(digestOf(a)).toBe(digestOf(b));
  });

  it('differ for any change of value, type or array order', () => {
    const base = digestOf({ password: 'x', n: 1, list: [1, 2] });
    for (const other of [
      { password: 'y', n: 1, list: [1, 2] },
      { password: 'x', n: '1', list: [1, 2] },
      { password: 'x', n: 1, list: [2, 1] },
      { password: 'x', n: 1, list: [1, 2], extra: null },
    ])
      expect(digestOf(other)).not.toBe(base);
  });

  it('is SHA-256 in hex, of the text itself for a string (a policy)', () => {
    // sha256("") is well known.
    expect(digestOf('')).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(digestOf({})).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
