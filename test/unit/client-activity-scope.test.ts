// The client's retries inside an activity: they end when the activity's time is up, stop when it
// is cancelled, and heartbeat while they wait. Run in Temporal's mock activity environment, with
// the client pointed at a port where nothing listens (refused at once, so every round fails).
import { createServer } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { heartbeatWith } from '../../vault/activity-scope.js';
import { VaultClient } from '../../vault/client.js';

/** A 127.0.0.1 port that was free a moment ago: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const clients: VaultClient[] = [];
afterAll(() => Promise.all(clients.map((c) => c.close())));

async function patientClient(): Promise<VaultClient> {
  // Left alone, this client would retry for about 1000 rounds of 50-100 ms.
  const client = new VaultClient({
    address: `http://127.0.0.1:${await closedPort()}`,
    retry: { maxRetries: 1000, waitMinMs: 50, waitMaxMs: 100 },
    breaker: { failureThreshold: 1000, openMs: 1000 },
  });
  clients.push(client);
  return client;
}

const activityInfo = (startToCloseTimeoutMs: number) => ({
  startToCloseTimeoutMs,
  scheduleToCloseTimeoutMs: 0,
  currentAttemptScheduledTimestampMs: Date.now(),
  scheduledTimestampMs: Date.now(),
  heartbeatTimeoutMs: 10_000,
});

describe('VaultClient retries inside an activity', () => {
  it("stop when the activity's start-to-close time is up, heartbeating meanwhile", async () => {
    const client = await patientClient();
    const env = new MockActivityEnvironment(activityInfo(800));
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    const started = Date.now();
    await expect(
      env.run(async () => {
        heartbeatWith({ cursor: 42 }); // the activity's own progress, which the client repeats
        return client.read('sys/health');
      }),
    ).rejects.toThrow(/cannot reach/);
    const took = Date.now() - started;
    expect(took).toBeLessThan(1500);
    expect(heartbeats.length).toBeGreaterThan(2);
    expect(heartbeats.every((d) => (d as { cursor?: number } | undefined)?.cursor === 42)).toBe(true);
  });

  it('stop when the activity is cancelled', async () => {
    const client = await patientClient();
    const env = new MockActivityEnvironment(activityInfo(60_000));
    setTimeout(() => env.cancel(), 300);
    const started = Date.now();
    await expect(env.run(() => client.read('sys/health'))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('stop when the caller aborts, outside any activity', async () => {
    const client = await patientClient();
    const started = Date.now();
    await expect(client.read('sys/health', { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
