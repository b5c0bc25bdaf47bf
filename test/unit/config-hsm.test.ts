// The `hsm:` section: a PKCS#11 module, the token by label or slot, the PIN from an environment
// variable or a file (never in the configuration), the environment overlay the dev stack and
// containers use, and clear refusals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HsmPinError, hsmConfigFrom } from '../../activities/hsm/token-config.js';
import { parseConfig } from '../../common/config/parse.js';
import { configProblems } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'vaultops-hsm-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const noFiles = { checkFile: () => undefined };
const yaml = (hsm: string) => `vault_integration:\n  address: http://127.0.0.1:8200\nhsm:\n${hsm}`;

describe('hsm configuration', () => {
  it('reads the module, the token by label, and the PIN from $VAULTOPS_HSM_PIN by default', () => {
    const config = parseConfig(
      yaml('  module: /usr/lib/softhsm/libsofthsm2.so\n  token_label: root-ca\n'),
      {},
      'f',
      noFiles,
    );
    expect(config.hsm).toEqual({
      module: '/usr/lib/softhsm/libsofthsm2.so',
      token: { label: 'root-ca' },
      pin: { env: 'VAULTOPS_HSM_PIN' },
    });
  });

  it('takes a slot instead of a label, and a PIN file', () => {
    const config = parseConfig(
      yaml('  module: /opt/hsm/lib.so\n  slot: 2\n  pin_file: /run/secrets/pin\n'),
      {},
      'f',
      noFiles,
    );
    expect(config.hsm).toMatchObject({ token: { slot: 2 }, pin: { file: '/run/secrets/pin' } });
  });

  it('refuses both label and slot, neither, both PIN sources, and a missing module file', () => {
    expect(
      configProblems(() =>
        parseConfig(
          yaml('  module: /m.so\n  token_label: a\n  slot: 1\n  pin_env: P\n  pin_file: /f\n'),
          {},
          'f',
          noFiles,
        ),
      ).join('\n'),
    ).toMatch(/either token_label .* or slot, exactly one[\s\S]*either pin_env or pin_file, not both/);
    expect(configProblems(() => parseConfig(yaml('  module: /m.so\n'), {}, 'f', noFiles)).join('\n')).toMatch(
      /hsm.token_label: give either token_label/,
    );
    expect(
      configProblems(() => parseConfig(yaml('  module: /no/such/lib.so\n  token_label: a\n'), {}, 'f')),
    ).toEqual(['hsm.module: file "/no/such/lib.so" does not exist; correct the path']);
  });

  it('takes the module and token label from the environment (VAULTOPS_HSM_MODULE, VAULTOPS_HSM_TOKEN_LABEL)', () => {
    const config = parseConfig(
      undefined,
      { VAULT_ADDR: 'http://127.0.0.1:8200', VAULTOPS_HSM_MODULE: '/m.so', VAULTOPS_HSM_TOKEN_LABEL: 'dev' },
      'env',
      noFiles,
    );
    expect(config.hsm).toEqual({
      module: '/m.so',
      token: { label: 'dev' },
      pin: { env: 'VAULTOPS_HSM_PIN' },
    });
  });

  it('reads the PIN when the worker starts, from the variable or the file, and says what is missing', () => {
    const base = { module: '/m.so', token: { label: 'root-ca' } } as const;
    expect(hsmConfigFrom({ ...base, pin: { env: 'MY_PIN' } }, { MY_PIN: '123456' })).toEqual({
      modulePath: '/m.so',
      tokenLabel: 'root-ca',
      pin: '123456',
    });
    expect(() => hsmConfigFrom({ ...base, pin: { env: 'MY_PIN' } }, {})).toThrow(
      /read from \$MY_PIN, which is not set/,
    );
    const pinFile = join(dir, 'pin');
    writeFileSync(pinFile, '654321\n', { mode: 0o600 });
    expect(hsmConfigFrom({ module: '/m.so', token: { slot: 0 }, pin: { file: pinFile } }, {})).toEqual({
      modulePath: '/m.so',
      slot: 0,
      pin: '654321',
    });
    writeFileSync(pinFile, '');
    expect(() => hsmConfigFrom({ ...base, pin: { file: pinFile } }, {})).toThrow(HsmPinError);
  });
});
