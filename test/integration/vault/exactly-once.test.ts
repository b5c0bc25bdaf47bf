// Exactly-once writes against the real server, through a proxy that loses replies: the request
// reaches Vault and is carried out, and the client's connection is closed before the answer.
// For each kind of write the operation must happen once: never resent blindly, settled by
// reading the state. Also: a 429 waits instead of condemning the node, and a proxy's 502 on
// sys/health is a node failure, not a health report.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultClient } from '../../../vault/client.js';
import { VaultErrorType } from '../../../vault/errors.js';
import { readMetadata, writeSecret } from '../../../vault/kv.js';
import { listCertificates, signCsr } from '../../../vault/pki/issue.js';
import { generateRoot } from '../../../vault/pki/issuers.js';
import { writeRole } from '../../../vault/pki/roles.js';
import { deleteRateLimitQuota, readHealth, readSealStatus, writeRateLimitQuota } from '../../../vault/sys.js';
import { accessorsWithRequestId, createToken } from '../../../vault/token.js';
import { createKey, readKey, rotateKey } from '../../../vault/transit.js';
import { failureType } from '../../harness/failures.js';
import { type LossyProxy, startLossyProxy } from '../../harness/lossy-proxy.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const root = rootClient();
const kvMount = unique('kv-once');
const transitMount = unique('transit-once');
const pkiMount = unique('pki-once');
let proxy: LossyProxy;
let second: LossyProxy;
const clients: VaultClient[] = [];

/** A client whose only way to the server is through the lossy proxy, retrying quickly. */
function throughProxy(addresses = [proxy.address]): VaultClient {
  const client = new VaultClient({
    addresses,
    timeoutMs: 5000,
    retry: { maxRetries: 3, waitMinMs: 10, waitMaxMs: 50 },
    breaker: { failureThreshold: 5, openMs: 1000 },
  });
  client.tokens.set(server().rootToken);
  clients.push(client);
  return client;
}

const post = (path: string) => (req: { method: string; path: string }) =>
  req.method === 'POST' && req.path.split('?')[0] === `/v1/${path}`;

beforeAll(async () => {
  proxy = await startLossyProxy(server().address);
  second = await startLossyProxy(server().address);
  await root.write(`sys/mounts/${kvMount}`, { type: 'kv', options: { version: '2' } });
  await root.write(`sys/mounts/${transitMount}`, { type: 'transit' });
  await root.write(`sys/mounts/${pkiMount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
  await generateRoot(root, pkiMount, { commonName: 'once root', keyType: 'ec', keyBits: 256, ttl: '8760h' });
  await writeRole(root, pkiMount, 'leaf', {
    allowedDomains: ['once.test'],
    allowSubdomains: true,
    maxTtl: '24h',
    keyType: 'ec',
    keyBits: 256,
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await root.close();
  await proxy?.close();
  await second?.close();
});

describe(`exactly-once writes on ${server().flavour}, replies lost by a proxy`, () => {
  it('a KV write without CAS writes one version', async () => {
    const path = unique('plain');
    proxy.dropReplies(post(`${kvMount}/data/${path}`));
    const written = await writeSecret(throughProxy(), kvMount, path, { password: 'one' });
    expect(proxy.dropped).toContainEqual({ method: 'POST', path: `/v1/${kvMount}/data/${path}` });
    expect(written.version).toBe(1);
    expect((await readMetadata(root, kvMount, path)).current_version).toBe(1);
  });

  it('a KV write over an existing version writes one more, not two', async () => {
    const path = unique('plain-again');
    await writeSecret(root, kvMount, path, { password: 'before' });
    proxy.dropReplies(post(`${kvMount}/data/${path}`));
    const written = await writeSecret(throughProxy(), kvMount, path, { password: 'after' });
    expect(written.version).toBe(2);
    expect((await readMetadata(root, kvMount, path)).current_version).toBe(2);
  });

  it('a KV write with CAS is resent, and its own earlier landing is recognised', async () => {
    const path = unique('cas');
    proxy.dropReplies(post(`${kvMount}/data/${path}`));
    const written = await writeSecret(throughProxy(), kvMount, path, { password: 'cas' }, { cas: 0 });
    expect(written.version).toBe(1);
    expect((await readMetadata(root, kvMount, path)).current_version).toBe(1);
  });

  it('a raw write that is not idempotent fails as outcome-unknown and is not resent', async () => {
    const path = unique('raw');
    proxy.dropReplies(post(`${kvMount}/data/${path}`));
    const before = proxy.forwarded.length;
    const outcome = await failureType(throughProxy().write(`${kvMount}/data/${path}`, { data: { v: 1 } }));
    expect(outcome).toBe(VaultErrorType.OutcomeUnknown);
    expect(proxy.forwarded.length - before).toBe(1);
    expect((await readMetadata(root, kvMount, path)).current_version).toBe(1);
  });

  it('does not fail a non-idempotent write over to another node, but does an idempotent one', async () => {
    const path = unique('failover');
    const client = throughProxy([proxy.address, second.address]);
    // The first round starts at whichever node the rotation gives: lose replies on both.
    proxy.dropReplies(post(`${kvMount}/data/${path}`));
    second.dropReplies(post(`${kvMount}/data/${path}`));
    expect(await failureType(client.write(`${kvMount}/data/${path}`, { data: { v: 1 } }))).toBe(
      VaultErrorType.OutcomeUnknown,
    );
    expect((await readMetadata(root, kvMount, path)).current_version).toBe(1);
    const metadataPath = `${kvMount}/metadata/${path}`;
    proxy.dropReplies(post(metadataPath));
    second.dropReplies(post(metadataPath));
    await client.put(metadataPath, { max_versions: 7 });
    expect((await readMetadata(root, kvMount, path)).max_versions).toBe(7);
  });

  it('a transit key rotation happens once', async () => {
    const key = unique('key');
    await createKey(root, transitMount, key, { type: 'aes256-gcm96' });
    proxy.dropReplies(post(`${transitMount}/keys/${key}/rotate`));
    expect(await rotateKey(throughProxy(), transitMount, key)).toBe(2);
    expect((await readKey(root, transitMount, key)).latest_version).toBe(2);
    expect(proxy.dropped.some((r) => r.path === `/v1/${transitMount}/keys/${key}/rotate`)).toBe(true);
  });

  it('a CSR is signed once: the certificate stored for its key is recovered', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=a.once.test',
      keys,
      signingAlgorithm: alg,
    });
    const spki = Buffer.from(csr.publicKey.rawData);
    proxy.dropReplies(post(`${pkiMount}/sign/leaf`));
    const issued = await signCsr(throughProxy(), pkiMount, 'leaf', {
      csr: csr.toString('pem'),
      commonName: 'a.once.test',
    });
    expect(Buffer.from(new x509.X509Certificate(issued.certificate).publicKey.rawData).equals(spki)).toBe(
      true,
    );
    const forThisKey: string[] = [];
    for (const serial of await listCertificates(root, pkiMount)) {
      const { data } = (await root.read(`${pkiMount}/cert/${serial}`)) as { data: { certificate: string } };
      if (Buffer.from(new x509.X509Certificate(data.certificate).publicKey.rawData).equals(spki)) {
        forThisKey.push(serial);
      }
    }
    expect(forThisKey).toEqual([issued.serialNumber]);
  });

  it('a token is created once: the stray from the lost reply is revoked, one usable token remains', async () => {
    proxy.dropReplies(post('auth/token/create'));
    const created = await createToken(throughProxy(), { policies: ['default'], ttl: '10m', orphan: true });
    expect(proxy.dropped.some((r) => r.path === '/v1/auth/token/create')).toBe(true);
    expect(await accessorsWithRequestId(root, created.requestId)).toEqual([created.accessor]);
    const self = (await root.read('auth/token/lookup-self', { token: created.token })) as {
      data: { accessor: string };
    };
    expect(self.data.accessor).toBe(created.accessor);
  });
});

describe(`answers that are not node failures, and one that is, on ${server().flavour}`, () => {
  it('waits out a 429 from a rate-limit quota (Retry-After) and keeps the node in service', async () => {
    const mount = unique('limited');
    const name = unique('quota');
    await root.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
    await writeRateLimitQuota(root, name, { path: `${mount}/`, ratePerSecond: 1, interval: '1s' });
    const client = new VaultClient({
      address: server().address,
      retry: { maxRetries: 5, waitMinMs: 10, waitMaxMs: 50 },
      breaker: { failureThreshold: 1, openMs: 60_000 },
    });
    client.tokens.set(server().rootToken);
    clients.push(client);
    try {
      for (let i = 0; i < 3; i++) await writeSecret(client, mount, `k${i}`, { i });
      expect(client.nodes.breakerState(server().address)).toBe('closed');
    } finally {
      await deleteRateLimitQuota(root, name);
    }
  });

  it('treats a proxy 502 on sys/health as a failed node and asks the next one', async () => {
    const broken = await startLossyProxy(server().address);
    broken.badGateway(true);
    try {
      const client = new VaultClient({
        addresses: [broken.address, server().address],
        retry: { maxRetries: 1, waitMinMs: 10, waitMaxMs: 20 },
      });
      client.tokens.set(server().rootToken);
      clients.push(client);
      for (let i = 0; i < 2; i++) {
        const health = await readHealth(client);
        expect(health.initialized).toBe(true);
      }
      expect(client.nodes.breakerState(broken.address)).not.toBe('open'); // one failure of three
    } finally {
      await broken.close();
    }
  });
});

describe(`paths from input on ${server().flavour}`, () => {
  it('refuses a secret named ../../sys/seal, and the server stays unsealed', async () => {
    expect(await failureType(writeSecret(root, kvMount, '../../sys/seal', { x: 1 }))).toBe(
      VaultErrorType.InvalidPath,
    );
    expect(await failureType(root.write(`${kvMount}/data/../../sys/seal`, {}))).toBe(
      VaultErrorType.InvalidPath,
    );
    expect((await readSealStatus(root)).sealed).toBe(false);
  });

  it('encodes a name with reserved characters so it names one secret', async () => {
    const name = `${unique('odd')}/with space?and#hash`;
    await writeSecret(root, kvMount, name, { v: 'odd' });
    expect((await readMetadata(root, kvMount, name)).current_version).toBe(1);
  });
});
