// Every production workflow keeps replaying the histories it wrote: each history recorded in
// test/histories/ (a run of the workflow with the unit tests' stand-in activities) is replayed
// against today's production bundle. A change that alters the commands of a running workflow
// fails here with a determinism violation until it sits behind patched(). A workflow without a
// recorded history fails too: record one with `npm run histories:record`.
import { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../common/workflow-types.js';
import { bundleVaultopsWorkflows } from '../../workers/worker.js';
import { installQuietRuntime } from '../harness/temporal.js';
import { type History, recordedWorkflowTypes, storedHistories } from '../histories/stored.js';

const stored = storedHistories();

let bundle: WorkflowBundle;
beforeAll(async () => {
  installQuietRuntime();
  bundle = await bundleVaultopsWorkflows();
});

/** What no stored history may hold, even decoded: keys, Vault tokens, a dev root token. */
const SECRET_SHAPES = [/PRIVATE KEY-----/, /\bhv[sbr]\.[A-Za-z0-9_-]{20,}/, /\bs\.[A-Za-z0-9]{24}\b/];

/** The history's text and every payload's data decoded from base64. */
function textsOf(history: History): string[] {
  const json = temporal.api.history.v1.History.fromObject(history).toJSON();
  const texts = [JSON.stringify(json)];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'data' && typeof child === 'string')
          texts.push(Buffer.from(child, 'base64').toString('utf8'));
        else walk(child);
      }
    }
  };
  walk(json);
  return texts;
}

describe('recorded production histories', () => {
  it('cover every production workflow', () => {
    const recorded = recordedWorkflowTypes();
    expect(WORKFLOW_TYPES.filter((t) => !recorded.has(t))).toEqual([]);
    // A history of a workflow that is no longer in the bundle would replay nothing useful.
    expect([...recorded.keys()].filter((t) => !(WORKFLOW_TYPES as readonly string[]).includes(t))).toEqual(
      [],
    );
  });

  it.each(stored.map((h) => [h.file, h] as const))('%s replays with today’s code', async (_file, h) => {
    expect(h.history.events?.length).toBeGreaterThan(3);
    await expect(
      Worker.runReplayHistory({ workflowBundle: bundle }, h.history, h.workflowId),
    ).resolves.toBeUndefined();
  });

  it('hold no key or token, raw or decoded', () => {
    const found = stored.flatMap((h) =>
      textsOf(h.history).flatMap((text) =>
        SECRET_SHAPES.filter((re) => re.test(text)).map((re) => `${h.file}: ${re}`),
      ),
    );
    expect(found).toEqual([]);
  });
});
