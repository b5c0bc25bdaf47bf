// The stored production histories (test/histories/*.json; the example workflows' are in
// examples/), read back as Temporal's proto messages.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { HISTORIES_DIR, workflowTypeOf } from './paths.js';

export type History = temporal.api.history.v1.IHistory;

export interface StoredHistory {
  file: string;
  workflowType: string;
  workflowId: string;
  history: History;
}

export function storedHistories(): StoredHistory[] {
  return readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const json = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as object;
      const history = temporal.api.history.v1.History.fromObject(json);
      const workflowType = workflowTypeOf(json);
      if (!workflowType) throw new Error(`${file}: its first event is no workflow start`);
      // Replay needs an id; the file name serves (the recorded one may repeat across files).
      return { file, workflowType, workflowId: file.replace(/\.json$/, ''), history };
    });
}

/** Each workflow type with a stored history, and its files. */
export function recordedWorkflowTypes(): Map<string, string[]> {
  const types = new Map<string, string[]>();
  for (const h of storedHistories())
    types.set(h.workflowType, [...(types.get(h.workflowType) ?? []), h.file]);
  return types;
}
