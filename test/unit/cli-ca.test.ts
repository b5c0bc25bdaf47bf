// `vaultops ca init-root` input: every bad option is refused (exit 2) with what to fix, before
// anything starts; good options become the workflow's input.
import { describe, expect, it } from 'vitest';
import { parseInitRoot } from '../../client/commands/ca/ca.js';

const good = { label: 'vaultops-root-r1', subject: 'CN=Example Root CA R1, O=Example' };

describe('ca init-root options', () => {
  it('defaults: EC P-384, ten years, stored at secret/vaultops/ca/root, made not adopted', () => {
    expect(parseInitRoot(good)).toEqual({
      cluster: 'default',
      keyLabel: 'vaultops-root-r1',
      keyType: 'ec-p384',
      adopt: false,
      subject: 'CN=Example Root CA R1, O=Example',
      ttlMs: 3650 * 24 * 3600_000,
      store: { mount: 'secret', path: 'vaultops/ca/root' },
    });
    expect(
      parseInitRoot({ ...good, keyType: 'rsa-4096', ttl: '20d', adopt: true, store: 'pki-kv/roots/r1' }),
    ).toMatchObject({
      keyType: 'rsa-4096',
      ttlMs: 20 * 24 * 3600_000,
      adopt: true,
      store: { mount: 'pki-kv', path: 'roots/r1' },
    });
  });

  for (const [options, message] of [
    [{ label: 'has space' }, /--label must be a token key label/],
    [{ keyType: 'dsa-1024' }, /--key-type must be one of ec-p384, ec-p256, rsa-4096, rsa-2048/],
    [{ subject: 'Example Root' }, /--subject must be a distinguished name/],
    [{ ttl: 'forever' }, /--ttl "forever" is not a duration/],
    [{ ttl: '1h' }, /--ttl must be at least a day/],
    [{ store: 'nomount' }, /secret path/],
  ] as const) {
    it(`refuses ${JSON.stringify(options)}`, () => {
      let error: unknown;
      try {
        parseInitRoot({ ...good, ...options });
      } catch (err) {
        error = err;
      }
      expect((error as Error)?.name).toBe('UsageError');
      expect((error as Error).message).toMatch(message);
    });
  }
});
