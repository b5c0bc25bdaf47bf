// The workflow types the vaultops worker runs: the exports of workflows/index.ts, by name. Commands
// that start a workflow by its type (`schedule create --workflow`) check against this list, so a
// typo fails at once instead of as a run that no worker ever picks up. Pure, so the CLI can load it
// without the workflow code. A new workflow adds its name here; a unit test keeps both in step.
export const WORKFLOW_TYPES = [
  'preflightWorkflow',
  'sealGuardWorkflow',
  'breakGlassWorkflow',
  'secretRotationWorkflow',
  'leaseKeeperWorkflow',
  'caInitRootWorkflow',
  'caBootstrapWorkflow',
  'caRotationWorkflow',
  'certificateWorkflow',
  'drProtectWorkflow',
  'drDrillWorkflow',
  'drFailoverWorkflow',
  'drFailbackWorkflow',
  'drReplicationFailoverWorkflow',
  'migrateWorkflow',
] as const;

/** The seal guard's type, named where it is started (the worker, the seal activities) and listed. */
export const SEAL_GUARD_WORKFLOW: WorkflowType = 'sealGuardWorkflow';

export type WorkflowType = (typeof WORKFLOW_TYPES)[number];

export function isWorkflowType(name: string): name is WorkflowType {
  return (WORKFLOW_TYPES as readonly string[]).includes(name);
}
