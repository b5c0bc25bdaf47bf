// Where a DR workflow's time went, by activity, read from its history: each activity type's time
// from scheduled to completed, summed over its attempts' final completion (bench/workflow-time.ts
// sums all activities together; the DR figures need them one by one: snapshot, fingerprint...).
import type { Client } from '@temporalio/client';
// A CommonJS module: Node's ESM loader sees only its default export.
import proto from '@temporalio/proto';

const EventType = proto.temporal.api.enums.v1.EventType;

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;
const msOf = (ts: Timestamp) => Number(ts?.seconds ?? 0) * 1000 + (ts?.nanos ?? 0) / 1e6;

/** Milliseconds per activity type (scheduled to completed, summed), and the workflow's own span. */
export async function activityTimes(
  client: Client,
  workflowId: string,
): Promise<{ byActivity: Record<string, number>; serverMs: number }> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Map<number, { type: string; at: number }>();
  const byActivity: Record<string, number> = {};
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
      scheduled.set(Number(e.eventId), {
        type: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
        at: msOf(e.eventTime),
      });
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const from = scheduled.get(Number(e.activityTaskCompletedEventAttributes?.scheduledEventId));
      if (from) byActivity[from.type] = (byActivity[from.type] ?? 0) + msOf(e.eventTime) - from.at;
    }
  }
  return { byActivity, serverMs: msOf(events.at(-1)?.eventTime) - msOf(events[0]?.eventTime) };
}
