// The certificate inventory against the real server: certificates issued from a small PKI mount
// are recorded by the activity (idempotent, revocation kept in the history, concurrent records both
// landing), listed by `cert list` with a token that may only read the inventory, and `cert discover`
// finds them served by local TLS servers: one inventoried, one not, one expired, one port closed.
import { once } from 'node:events';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertInventoryActivities, listInventory } from '../../../activities/cert/inventory.js';
import { certDiscoverCommand, type DiscoveryRow } from '../../../client/commands/cert/discover.js';
import { certListCommand } from '../../../client/commands/cert/list.js';
import { type CertInventoryStore, type CertRecord, serialKey } from '../../../common/cert/inventory.js';
import { certRecordFromPem } from '../../../common/cert/pem.js';
import { readSecret } from '../../../vault/kv.js';
import { type IssuedCertificate, issue } from '../../../vault/pki/issue.js';
import { generateRoot } from '../../../vault/pki/issuers.js';
import { writeRole } from '../../../vault/pki/roles.js';
import { rootClient, server, tokenWithPolicy, unique } from '../../harness/vault.js';

const vault = rootClient();
const pkiMount = unique('pki');
const kvMount = unique('kv');
const store: CertInventoryStore = { mount: kvMount, prefix: 'vaultops/cert-inventory' };
const storeArg = `${kvMount}/vaultops/cert-inventory`;
const { certInventoryRecord } = createCertInventoryActivities({ vault });

const certs: Record<'served' | 'stranger' | 'revoked' | 'shortLived', IssuedCertificate> = {} as never;
let issuerId = '';
const servers: Server[] = [];
const ports: Record<'served' | 'stranger' | 'expired' | 'closed' | 'silent', number> = {} as never;
let userToken = '';

const recordOf = (c: IssuedCertificate, event: CertRecord['event'], recordedAt: string, workflowId: string) =>
  certRecordFromPem(c.certificate, { issuerId, mount: pkiMount, role: 'web', event, recordedAt, workflowId });

async function serveTls(c: IssuedCertificate): Promise<number> {
  const tls = createServer({ cert: `${c.certificate}\n${c.issuingCa}`, key: c.privateKey as string });
  tls.on('tlsClientError', () => {}); // a client that hangs up is no failure here
  tls.listen(0, '127.0.0.1');
  await once(tls, 'listening');
  servers.push(tls);
  return (tls.address() as { port: number }).port;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createNetServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** A port that accepts connections and never answers: no TLS handshake ever comes. */
async function silentPort(): Promise<number> {
  const s = createNetServer(() => {}).listen(0, '127.0.0.1');
  await once(s, 'listening');
  silent.push(s);
  return (s.address() as { port: number }).port;
}
const silent: NetServer[] = [];

/** Runs a CLI command function with VAULT_ADDR/VAULT_TOKEN as given, collecting what it prints. */
async function asUser<T>(
  env: { VAULT_ADDR?: string; VAULT_TOKEN?: string },
  run: (out: (line: string) => void) => Promise<T>,
): Promise<{ lines: string[]; result?: T; error?: Error }> {
  const saved = { VAULT_ADDR: process.env.VAULT_ADDR, VAULT_TOKEN: process.env.VAULT_TOKEN };
  for (const name of ['VAULT_ADDR', 'VAULT_TOKEN'] as const) {
    if (env[name] === undefined) delete process.env[name];
    else process.env[name] = env[name];
  }
  const lines: string[] = [];
  try {
    return { lines, result: await run((line) => lines.push(line)) };
  } catch (err) {
    return { lines, error: err as Error };
  } finally {
    for (const name of ['VAULT_ADDR', 'VAULT_TOKEN'] as const) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}

beforeAll(async () => {
  await vault.write(`sys/mounts/${pkiMount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
  await vault.write(`sys/mounts/${kvMount}`, { type: 'kv', options: { version: '2' } });
  issuerId = (
    await generateRoot(vault, pkiMount, {
      commonName: 'Inventory Test Root',
      keyType: 'ec',
      ttl: '87600h',
      issuerName: 'inventory-root',
    })
  ).issuerId;
  await writeRole(vault, pkiMount, 'web', {
    allowedDomains: ['example.test'],
    allowSubdomains: true,
    maxTtl: '720h',
    keyType: 'ec',
    keyBits: 256,
  });
  const make = (cn: string, ttl = '720h') => issue(vault, pkiMount, 'web', { commonName: cn, ttl });
  certs.served = await make('app.example.test');
  certs.stranger = await make('stranger.example.test');
  certs.revoked = await make('old.example.test', '240h');
  certs.shortLived = await make('brief.example.test', '2s');
  ports.served = await serveTls(certs.served);
  ports.stranger = await serveTls(certs.stranger);
  ports.expired = await serveTls(certs.shortLived);
  ports.closed = await closedPort();
  ports.silent = await silentPort();
  // The user's token may read the inventory and list the issuers (for their names), nothing else.
  userToken = (
    await tokenWithPolicy(
      vault,
      `path "${kvMount}/metadata/vaultops/cert-inventory/*" { capabilities = ["list", "read"] }
       path "${kvMount}/metadata/vaultops/cert-inventory" { capabilities = ["list"] }
       path "${kvMount}/data/vaultops/cert-inventory/*" { capabilities = ["read"] }
       path "${pkiMount}/issuers" { capabilities = ["list"] }`,
    )
  ).token;
});

afterAll(async () => {
  for (const s of servers) s.close();
  for (const s of silent) s.close();
  await vault.close();
});

describe(`certificate inventory on ${server().flavour}`, () => {
  it('records issued certificates once, keyed by serial, in the configured store', async () => {
    const issued = recordOf(certs.served, 'issued', '2026-01-01T00:00:00.000Z', 'cert:default:app');
    await certInventoryRecord({ record: issued, store });
    await certInventoryRecord({ record: issued, store }); // a retried activity
    const path = `vaultops/cert-inventory/${serialKey(certs.served.serialNumber)}`;
    const stored = await readSecret(vault, kvMount, path);
    expect(stored.metadata.version).toBe(1);
    expect(stored.data).toMatchObject({
      serial: certs.served.serialNumber,
      subject: 'CN=app.example.test',
      sans: ['app.example.test'],
      issuerId,
      mount: pkiMount,
      role: 'web',
      status: 'active',
      workflowId: 'cert:default:app',
      events: [{ event: 'issued', recordedAt: '2026-01-01T00:00:00.000Z', workflowId: 'cert:default:app' }],
    });
    expect(JSON.stringify(stored.data)).not.toContain('PRIVATE KEY');
  });

  it('keeps the history: two records at once both land, and a revocation is final', async () => {
    const at = (t: string, event: CertRecord['event']) =>
      recordOf(certs.revoked, event, t, 'cert:default:old');
    await Promise.all([
      certInventoryRecord({ record: at('2026-01-01T00:00:00.000Z', 'issued'), store }),
      certInventoryRecord({ record: at('2026-01-02T00:00:00.000Z', 'renewed'), store }),
      certInventoryRecord({ record: at('2026-01-03T00:00:00.000Z', 'revoked'), store }),
    ]);
    await certInventoryRecord({ record: at('2026-01-03T00:00:00.000Z', 'revoked'), store });
    const entry = (await listInventory(vault, store)).find((e) => e.serial === certs.revoked.serialNumber);
    expect(entry?.status).toBe('revoked');
    expect(entry?.events.map((e) => e.event)).toEqual(['issued', 'renewed', 'revoked']);
  });

  it('a record the inventory cannot keep is refused at once, not retried', async () => {
    const bad = { ...recordOf(certs.served, 'issued', 'yesterday', 'x') };
    await expect(certInventoryRecord({ record: bad, store })).rejects.toMatchObject({
      type: 'CertInventoryBadRecord',
      nonRetryable: true,
    });
  });

  it('cert list reads the inventory with the user token: table, JSON, CSV, filters', async () => {
    const env = { VAULT_ADDR: server().address, VAULT_TOKEN: userToken };
    const table = await asUser(env, (out) => certListCommand({ store: storeArg }, out));
    expect(table.error).toBeUndefined();
    expect(table.lines[0]).toMatch(
      /^SERIAL\s+SUBJECT\s+SANS\s+ISSUER\s+NOT AFTER\s+DAYS LEFT\s+STATUS\s+WORKFLOW$/,
    );
    // Soonest expiry first: the 10-day certificate (revoked), then the 30-day one.
    expect(table.lines[1]).toMatch(
      new RegExp(
        `^${certs.revoked.serialNumber}\\s+CN=old\\.example\\.test\\s.*\\srevoked\\s+cert:default:old$`,
      ),
    );
    expect(table.lines[2]).toMatch(
      new RegExp(
        `^${certs.served.serialNumber}\\s+CN=app\\.example\\.test\\s+app\\.example\\.test\\s+${pkiMount} inventory-root\\s.*\\s(29|30)\\s+active\\s+cert:default:app$`,
      ),
    );
    expect(table.lines).toHaveLength(3);

    const json = await asUser(env, (out) => certListCommand({ store: storeArg, format: 'json' }, out));
    const parsed = JSON.parse(json.lines.join('\n')) as {
      serial: string;
      status: string;
      daysLeft: number;
    }[];
    expect(parsed.map((e) => [e.serial, e.status])).toEqual([
      [certs.revoked.serialNumber, 'revoked'],
      [certs.served.serialNumber, 'active'],
    ]);

    const csv = await asUser(env, (out) =>
      certListCommand({ store: storeArg, format: 'csv', expiringWithin: '31d' }, out),
    );
    const rows = csv.lines.join('\n').split('\n');
    expect(rows[0]).toMatch(/^serial,subject,sans,/);
    // Revoked certificates are not "expiring": only the active one is listed.
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual([certs.served.serialNumber]);

    const none = await asUser(env, (out) =>
      certListCommand({ store: storeArg, expiringWithin: '1d', mount: pkiMount }, out),
    );
    expect(none.lines).toEqual([`None of the 2 certificates in ${storeArg} match.`]);
  });

  it('cert list without VAULT_TOKEN, or with a token that may not read, says what is needed', async () => {
    const missing = await asUser({ VAULT_ADDR: server().address }, (out) =>
      certListCommand({ store: storeArg }, out),
    );
    expect(missing.error?.name).toBe('UsageError');
    expect(missing.error?.message).toMatch(/export VAULT_ADDR and VAULT_TOKEN/);
    const other = await tokenWithPolicy(vault, 'path "nothing/*" { capabilities = ["read"] }');
    const refused = await asUser({ VAULT_ADDR: server().address, VAULT_TOKEN: other.token }, (out) =>
      certListCommand({ store: storeArg }, out),
    );
    expect(refused.error?.message).toMatch(
      new RegExp(`VAULT_TOKEN may not list or read ${kvMount}/metadata/`),
    );
  });

  it('cert discover: the served chain, the inventoried certificate and its workflow, a stranger', async () => {
    const env = { VAULT_ADDR: server().address, VAULT_TOKEN: userToken };
    const run = await asUser(env, (out) =>
      certDiscoverCommand(
        [`127.0.0.1:${ports.served}`, `127.0.0.1:${ports.stranger}`],
        { store: storeArg, servername: 'app.example.test' },
        out,
      ),
    );
    expect(run.error).toBeUndefined();
    const [served, stranger] = run.result as DiscoveryRow[];
    expect(served).toMatchObject({
      reachable: true,
      inventory: 'recorded',
      status: 'active',
      workflowId: 'cert:default:app',
      leaf: { serial: certs.served.serialNumber, subject: 'CN=app.example.test', sans: ['app.example.test'] },
      chain: [{ subject: 'CN=Inventory Test Root' }],
    });
    expect(served?.leaf?.issuer).toBe('CN=Inventory Test Root');
    expect(served?.leaf?.daysLeft).toBeGreaterThanOrEqual(29);
    expect(stranger).toMatchObject({
      inventory: 'not-recorded',
      leaf: { subject: 'CN=stranger.example.test' },
    });
    expect(stranger).not.toHaveProperty('workflowId');
    expect(run.lines[0]).toMatch(
      /^ENDPOINT\s+SUBJECT\s+ISSUER\s+SANS\s+NOT AFTER\s+DAYS LEFT\s+SERIAL\s+INVENTORY\s+WORKFLOW$/,
    );
    expect(run.lines[1]).toMatch(/\syes\s+cert:default:app$/);
    expect(run.lines[2]).toMatch(/\sno\s+-$/);
  });

  it('cert discover exits non-zero for an unreachable endpoint or an expired certificate, reporting all', async () => {
    // The 2 s certificate (Vault backdates notBefore, not notAfter) is expired by now or shortly.
    await sleep(Math.max(0, certs.shortLived.expiration * 1000 - Date.now() + 100));
    const endpoints = [
      `127.0.0.1:${ports.served}`,
      `127.0.0.1:${ports.expired}`,
      `127.0.0.1:${ports.closed}`,
      `127.0.0.1:${ports.silent}`,
    ];
    // Without Vault settings: the certificates are shown, and the inventory is said to be unread.
    const run = await asUser({}, (out) =>
      certDiscoverCommand(endpoints, { format: 'json', timeout: '1500ms' }, out),
    );
    expect(run.error?.name).toBe('DiscoveryProblemError');
    expect(run.error?.message).toBe(
      `127.0.0.1:${ports.expired} serves an expired certificate; 127.0.0.1:${ports.closed} unreachable; ` +
        `127.0.0.1:${ports.silent} unreachable`,
    );
    const report = JSON.parse(run.lines.join('\n')) as {
      inventory: { read: boolean; reason?: string };
      endpoints: DiscoveryRow[];
    };
    expect(report.inventory).toEqual({
      read: false,
      reason:
        'the inventory (secret/vaultops/cert-inventory) could not be read: VAULT_ADDR and VAULT_TOKEN are not both set',
    });
    expect(report.endpoints.map((r) => [r.reachable, r.inventory ?? null, r.leaf?.expired ?? null])).toEqual([
      [true, 'unknown', false],
      [true, 'unknown', true],
      [false, null, null],
      [false, null, null],
    ]);
    expect(report.endpoints[2]?.error).toMatch(/ECONNREFUSED/);
    expect(report.endpoints[3]?.error).toBe('no TLS handshake within 1500ms');
  });
});
