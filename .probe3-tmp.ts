import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRaftCluster } from '/work/main/client/stack/raft-cluster.js';
import { VaultClient } from '/work/main/vault/client.js';
import { writeSecret } from '/work/main/vault/kv.js';
const dir = mkdtempSync(join(tmpdir(), 'probe-'));
const raft = await startRaftCluster({ flavour: 'openbao', dir: join(dir, 'raft'), size: 1 });
const c = new VaultClient({ address: raft.nodes[0]?.address as string, retry: { maxRetries: 0, waitMinMs: 0, waitMaxMs: 0 } });
c.tokens.set(raft.rootToken);
for (let round = 0; round < 4; round++) {
  await c.write(`sys/mounts/m${round}`, { type: 'kv', options: { version: '2' } });
  const t0 = Date.now();
  for (let i = 0; i < 30; i++) {
    const wr = await writeSecret(c, `m${round}`, 'k', { i }).then(() => 'ok', (e: Error & { type?: string }) => `${e.type}: ${e.message.slice(0, 160)}`);
    console.log(round, Date.now() - t0, wr);
    if (wr === 'ok') break;
    await new Promise((r) => setTimeout(r, 50));
  }
}
await c.close(); await raft.stop(); rmSync(dir, { recursive: true, force: true });
