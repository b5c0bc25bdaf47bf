import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { checkRequestPath, normalizeNamespace, segment, vaultPath } from '../../vault/paths.js';

function refusal(f: () => unknown): { type: string | undefined; message: string } {
  try {
    f();
  } catch (err) {
    return {
      type: err instanceof ApplicationFailure ? (err.type ?? undefined) : undefined,
      message: (err as Error).message,
    };
  }
  throw new Error('expected a refusal');
}

describe('vaultPath', () => {
  it('encodes each input segment, keeping multi-segment mounts and paths', () => {
    expect(vaultPath`${'kv/team'}/data/${'app/db config?x#y'}`).toBe('kv/team/data/app/db%20config%3Fx%23y');
    expect(vaultPath`${'secret'}/data/${'/app/'}?version=${3}`).toBe('secret/data/app?version=3');
  });

  it('refuses dot segments, empty segments and control characters, saying what to fix', () => {
    for (const bad of ['../../sys/seal', 'app/./db', 'app//db', 'a\u0000b', 'a\nb', '%2e%2e', '']) {
      const { type, message } = refusal(() => vaultPath`secret/data/${bad}`);
      expect(type).toBe('VaultInvalidPath');
      expect(message).toMatch(/segment|control character|empty/);
    }
  });

  it('keeps a name to one segment', () => {
    expect(vaultPath`transit/keys/${segment('orders')}/rotate`).toBe('transit/keys/orders/rotate');
    expect(refusal(() => vaultPath`transit/keys/${segment('a/rotate')}`).message).toMatch(/single name/);
  });
});

describe('checkRequestPath', () => {
  it('lets normal paths, list paths and queries through', () => {
    expect(checkRequestPath('/sys/health?standbyok=true')).toBe('sys/health?standbyok=true');
    expect(checkRequestPath('secret/metadata/')).toBe('secret/metadata/');
  });

  it('refuses a path that URL resolution would move elsewhere', () => {
    expect(refusal(() => checkRequestPath('secret/data/../../sys/seal')).type).toBe('VaultInvalidPath');
    expect(refusal(() => checkRequestPath('secret/data/%2E%2E/x')).type).toBe('VaultInvalidPath');
    expect(refusal(() => checkRequestPath('secret//x')).type).toBe('VaultInvalidPath');
  });
});

describe('normalizeNamespace', () => {
  it('spells a namespace one way', () => {
    expect(normalizeNamespace('team/')).toBe('team');
    expect(normalizeNamespace('/team/a/')).toBe('team/a');
    expect(normalizeNamespace(undefined)).toBe('');
  });
});
