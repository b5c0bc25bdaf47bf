// The statuses `vaultops list --status` takes, and how Temporal's visibility query spells each.
// Free of imports, so that cli.ts can name them in its help without loading the list command.
export const STATUSES = ['running', 'completed', 'failed', 'canceled', 'terminated', 'timed-out'] as const;
export type WorkflowStatus = (typeof STATUSES)[number];

export const QUERY_STATUS: Record<WorkflowStatus, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
};
