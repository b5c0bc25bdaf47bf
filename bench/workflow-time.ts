// Where a workflow's time went, read from its history: its workflow tasks waiting for a worker
// and running in it (activations, commands, payload codec), and its activities from scheduled to
// completed. (Not split further: an activity's started event is written only when it completes,
// and its time is not when a worker took it.) Benchmarks print the medians, so that "the workflow
// is slower" says what of.
import type { Client } from '@temporalio/client';
// A CommonJS module: Node's ESM loader sees only its default export.
import proto from '@temporalio/proto';

const EventType = proto.temporal.api.enums.v1.EventType;

export interface WorkflowTime {
  workflowTasks: number;
  /** Workflow tasks from scheduled to picked up by a worker. */
  taskQueueMs: number;
  /** Workflow tasks from picked up to completed: the worker's own time. */
  taskRunMs: number;
  activities: number;
  /** Activities from scheduled to completed: waiting for a worker, and running. */
  activityMs: number;
  /** Local activities: run inside a workflow task (their time is in taskRunMs), recorded as markers. */
  localActivities: number;
  /** Start to close, as the server recorded it. */
  serverMs: number;
}

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

const msOf = (ts: Timestamp) => Number(ts?.seconds ?? 0) * 1000 + (ts?.nanos ?? 0) / 1e6;

/** One closed workflow's time, summed by kind over its history. */
export async function workflowTime(client: Client, workflowId: string): Promise<WorkflowTime> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const at = new Map(events.map((e) => [Number(e.eventId), msOf(e.eventTime)]));
  const since = (eventId: unknown, now: Timestamp) => msOf(now) - (at.get(Number(eventId)) ?? msOf(now));
  const t: WorkflowTime = {
    workflowTasks: 0,
    taskQueueMs: 0,
    taskRunMs: 0,
    activities: 0,
    activityMs: 0,
    localActivities: 0,
    serverMs: msOf(events.at(-1)?.eventTime) - msOf(events[0]?.eventTime),
  };
  for (const e of events) {
    switch (e.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        t.taskQueueMs += since(e.workflowTaskStartedEventAttributes?.scheduledEventId, e.eventTime);
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        t.workflowTasks += 1;
        t.taskRunMs += since(e.workflowTaskCompletedEventAttributes?.startedEventId, e.eventTime);
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        t.activities += 1;
        t.activityMs += since(e.activityTaskCompletedEventAttributes?.scheduledEventId, e.eventTime);
        break;
      case EventType.EVENT_TYPE_MARKER_RECORDED:
        if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') t.localActivities += 1;
        break;
    }
  }
  return t;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** The median of each figure over several workflows (each figure on its own). */
export function medianTime(times: WorkflowTime[]): WorkflowTime {
  const of = (field: keyof WorkflowTime) => median(times.map((t) => t[field]));
  return {
    workflowTasks: of('workflowTasks'),
    taskQueueMs: of('taskQueueMs'),
    taskRunMs: of('taskRunMs'),
    activities: of('activities'),
    activityMs: of('activityMs'),
    localActivities: of('localActivities'),
    serverMs: of('serverMs'),
  };
}
