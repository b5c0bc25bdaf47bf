// sys/ calls against the real dev server: the facts preflight stands on.
import { afterAll, describe, expect, it } from 'vitest';
import type { VaultClient } from '../../../vault/client.js';
import {
  listAuthMethods,
  listSecretsEngines,
  probeNamespaces,
  readHealth,
  readLeader,
  readSealStatus,
} from '../../../vault/sys.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const vault: VaultClient = rootClient();
afterAll(() => vault.close());

describe(`sys on ${server().flavour}`, () => {
  it('reads health of an initialized, unsealed, active dev server', async () => {
    const health = await readHealth(vault);
    expect(health).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
    // OpenBao dropped the `enterprise` field; HashiCorp Vault still reports it.
    expect(health.enterpriseField === null).toBe(server().flavour === 'openbao');
  });

  it('reads seal status: shamir, unsealed, in-memory storage', async () => {
    const seal = await readSealStatus(vault);
    expect(seal).toMatchObject({
      type: 'shamir',
      sealed: false,
      storageType: 'inmem',
      threshold: 1,
      shares: 1,
    });
    expect(server().flavour === 'openbao' ? seal.commitDate : seal.buildDate).not.toBeNull();
  });

  it('reads the leader of a dev server: HA disabled', async () => {
    expect((await readLeader(vault)).haEnabled).toBe(false);
  });

  it('lists a secrets engine and an auth method that the test mounted', async () => {
    const transit = unique('transit');
    const approle = unique('approle');
    await vault.write(`sys/mounts/${transit}`, { type: 'transit' });
    await vault.write(`sys/auth/${approle}`, { type: 'approle' });
    const engines = await listSecretsEngines(vault);
    const methods = await listAuthMethods(vault);
    expect(engines).toContainEqual(
      expect.objectContaining({ path: `${transit}/`, type: 'transit', kvVersion: null }),
    );
    expect(engines).toContainEqual(expect.objectContaining({ path: 'secret/', type: 'kv', kvVersion: '2' }));
    expect(methods).toContainEqual(expect.objectContaining({ path: `${approle}/`, type: 'approle' }));
    const builtin = server().flavour === 'openbao' ? '+builtin.bao' : '+builtin.vault';
    expect(methods.find((m) => m.path === 'token/')?.runningPluginVersion).toContain(builtin);
  });

  it('tells whether namespaces exist: OpenBao has them, Vault Community does not', async () => {
    const ns = await probeNamespaces(vault);
    if (server().flavour === 'openbao') {
      expect(ns.supported).toBe(true);
      const name = unique('tenant');
      await vault.write(`sys/namespaces/${name}`, {});
      expect((await probeNamespaces(vault)).children).toContain(`${name}/`);
    } else {
      expect(ns).toMatchObject({ supported: false, children: [] });
    }
  });
});
