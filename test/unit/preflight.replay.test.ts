// Workflow changes must not break histories already written: a preflight recorded before the
// plugin-catalog step was added replays with today's code (the step sits behind patched()).
// Removing that patched() call makes this test fail with a determinism violation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../client/stack/tools.js';
import { bundleVaultopsWorkflows } from '../../workers/worker.js';
import { createTimeSkippingEnv } from '../harness/temporal.js';

const recorded = (name: string) =>
  temporal.api.history.v1.History.fromObject(
    JSON.parse(readFileSync(join(REPO_DIR, 'test/histories', name), 'utf8')) as object,
  );

describe('preflightWorkflow replay', () => {
  it('replays a history recorded before the plugin-catalog step', async () => {
    // The environment installs the quiet runtime logger the other unit tests use.
    const env = await createTimeSkippingEnv();
    try {
      const history = recorded('preflight-before-plugin-catalog.json');
      expect(history.events?.length).toBeGreaterThan(40);
      await expect(
        Worker.runReplayHistory({ workflowBundle: await bundleVaultopsWorkflows() }, history, 'preflight-v1'),
      ).resolves.toBeUndefined();
    } finally {
      await env.teardown();
    }
  });
});
