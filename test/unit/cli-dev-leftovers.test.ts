// `vaultops dev` after a restart: the Temporal dev server keeps its SQLite history, so workflows of
// the earlier run are still running (against a Vault whose in-memory state is gone). The stack
// names them, and `dev --reset` starts clean. A real Temporal dev server, restarted on one state dir.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { VAULTOPS } from '../../client/commands/invocation.js';
import { describeLeftovers, leftoverWorkflows } from '../../client/dev-leftovers.js';
import { startTemporalDevServer } from '../../client/stack/temporal-dev.js';
import { resetDevHistory } from '../../common/dev-state.js';

const stateDir = mkdtempSync(join(tmpdir(), 'vaultops-dev-leftovers-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

async function withServer<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const server = await startTemporalDevServer({ stateDir, logDir: stateDir });
  const connection = await Connection.connect({ address: server.address });
  try {
    return await fn(new Client({ connection, namespace: server.namespace }));
  } finally {
    await connection.close();
    await server.stop();
  }
}

/** Visibility is eventually consistent: the list may lag the start by a moment. */
async function eventually<T>(look: () => Promise<T>, ok: (t: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const seen = await look();
    if (ok(seen) || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('vaultops dev after a restart', () => {
  it('names the workflows still running from the earlier run; --reset forgets them', async () => {
    // The earlier run: a certificate keeper, running (no worker here; the dev stack's would be).
    await withServer(async (client) => {
      await client.workflow.start('certificateWorkflow', {
        taskQueue: 'vaultops',
        workflowId: 'cert:default:pki_int:www.example.com',
        args: [{}],
      });
      // The worker's seal guard runs across restarts by design: no leftover.
      await client.workflow.start('sealGuardWorkflow', {
        taskQueue: 'vaultops',
        workflowId: 'seal-guard-default',
        args: [{}],
      });
    });

    const restartedAt = new Date();
    const leftovers = await withServer(async (client) => {
      // Started in this run: not a leftover.
      await client.workflow.start('preflightWorkflow', {
        taskQueue: 'vaultops',
        workflowId: 'fresh',
        args: [{}],
      });
      return eventually(
        () => leftoverWorkflows(client, restartedAt),
        (l) => l.length > 0,
      );
    });
    expect(leftovers.map((w) => [w.workflowId, w.type])).toEqual([
      ['cert:default:pki_int:www.example.com', 'certificateWorkflow'],
    ]);
    const lines = describeLeftovers(leftovers);
    expect(lines[0]).toBe(
      '1 workflow from an earlier run is still running, against servers whose in-memory state is gone:',
    );
    expect(lines[1]).toMatch(
      /^ {4}cert:default:pki_int:www\.example\.com \(certificateWorkflow, started \S+Z\)$/,
    );
    expect(lines[2]).toBe(
      `  end one: ${VAULTOPS} cancel <workflow-id>; or start clean: ${VAULTOPS} dev --reset`,
    );

    expect(resetDevHistory(stateDir)).toContain('temporal.sqlite');
    expect(existsSync(join(stateDir, 'temporal.sqlite'))).toBe(false);
    const afterReset = await withServer(async (client) => {
      const all: string[] = [];
      for await (const w of client.workflow.list()) all.push(w.workflowId);
      return all;
    });
    expect(afterReset).toEqual([]);
    expect(describeLeftovers([])).toEqual([]);
  }, 120_000);
});
