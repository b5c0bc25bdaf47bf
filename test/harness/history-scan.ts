// "No secret material in Temporal", enforced: a suite registers the secrets it handles (root
// tokens, unseal keys, tokens it creates) with rememberSecret(), and at its end scans the raw
// event history of every workflow it ran for them: the history as JSON, every payload's data
// decoded from its bytes, and, where a codec is given, every payload opened by it. A secret that
// turns up is reported with where it was found, never with its value.
import type { Client } from '@temporalio/client';
import { msNumberToTs, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

interface Remembered {
  value: string;
  label: string;
}

const secrets: Remembered[] = [];

/** Registers a value that must never appear in Temporal history; `label` names it in findings. */
export function rememberSecret(value: string, label = `secret #${secrets.length + 1}`): void {
  // Short values would match by accident (a 3-character token is no token).
  if (value.length < 8)
    throw new Error(`rememberSecret(${label}): too short to scan for (${value.length} chars)`);
  if (!secrets.some((s) => s.value === value)) secrets.push({ value, label });
}

/** Where one history holds any of the secrets registered so far (e.g. before it is written to a file). */
export const findRememberedSecrets = (history: History): Promise<string[]> => scanHistory(history, secrets);

/** The secrets registered so far (their labels), e.g. to say what a scan looked for. */
export const rememberedSecrets = (): string[] => secrets.map((s) => s.label);

export interface ScanTarget {
  /** Only workflows that ran on this task queue (needs a server with visibility: the dev server). */
  taskQueue?: string;
  /** Only these workflows (every run of each). */
  workflowIds?: string[];
  /** Every workflow in the client's namespace (the default when nothing else is given). */
  all?: boolean;
}

export interface ScanOptions {
  /** Codecs that open encrypted payloads, as the data converter applies them (outermost last). */
  codecs?: PayloadCodec[];
  /** Values to look for instead of the registered ones (for a self-test). */
  secrets?: { value: string; label: string }[];
}

export interface ScanResult {
  /** Where a secret was found: `<workflowId>/<runId> event <n> <EVENT_TYPE> <field path> (<how>): <label>`. */
  findings: string[];
  /** How many runs and events were read, so a test can tell that the scan saw something. */
  runs: number;
  events: number;
}

type History = temporal.api.history.v1.IHistory;

/** Scans the histories of the target's workflows for the registered secrets. */
export async function scanHistories(
  client: Client,
  target: ScanTarget = { all: true },
  options: ScanOptions = {},
): Promise<ScanResult> {
  const wanted = options.secrets ?? secrets;
  const result: ScanResult = { findings: [], runs: 0, events: 0 };
  for (const execution of await listExecutions(client, target)) {
    const history = await fetchRawHistory(client, execution);
    result.runs += 1;
    result.events += history.events?.length ?? 0;
    result.findings.push(
      ...(await scanHistory(history, wanted, options.codecs ?? [])).map(
        (where) => `${execution.workflowId}/${execution.runId} ${where}`,
      ),
    );
  }
  return result;
}

/** Scans one history (e.g. one loaded from a file). Findings are relative to the history. */
export async function scanHistory(
  history: History,
  wanted: { value: string; label: string }[],
  codecs: PayloadCodec[] = [],
): Promise<string[]> {
  const findings: string[] = [];
  const forms = wanted.map((s) => ({ ...s, forms: textForms(s.value) }));
  const look = (text: string, where: string, how: string) => {
    for (const s of forms) {
      if (s.forms.some((f) => text.includes(f))) findings.push(`${where} (${how}): ${s.label}`);
    }
  };
  for (const event of history.events ?? []) {
    const message = temporal.api.history.v1.HistoryEvent.fromObject(event);
    const where = `event ${String(message.eventId)} ${eventTypeName(message.eventType)}`;
    // Raw: the event as Temporal's JSON shows it (bytes in base64), e.g. the UI's history view.
    look(JSON.stringify(message.toJSON()), where, 'raw JSON');
    for (const { payload, path } of payloadsIn(message, '')) {
      look(Buffer.from(payload.data ?? []).toString('utf8'), `${where} ${path}`, 'payload data');
      for (const [key, value] of Object.entries(payload.metadata ?? {}))
        look(
          Buffer.from(value ?? []).toString('utf8'),
          `${where} ${path}.metadata.${key}`,
          'payload metadata',
        );
      if (codecs.length === 0) continue;
      let opened: Payload = payload;
      try {
        for (const codec of [...codecs].reverse()) [opened] = (await codec.decode([opened])) as [Payload];
      } catch (err) {
        findings.push(`${where} ${path} (codec): cannot be decoded: ${(err as Error).message}`);
        continue;
      }
      if (opened !== payload)
        look(Buffer.from(opened.data ?? []).toString('utf8'), `${where} ${path}`, 'codec-decoded');
    }
  }
  return findings;
}

/** The secret as written, and as it appears inside a JSON string (quotes and backslashes escaped). */
function textForms(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped === value ? [value] : [value, escaped];
}

function eventTypeName(type: temporal.api.enums.v1.EventType | null | undefined): string {
  return temporal.api.enums.v1.EventType[type ?? 0] ?? String(type);
}

/** Every Payload inside a proto message: objects with bytes `data` (and usually `metadata`). */
function* payloadsIn(value: unknown, path: string): Generator<{ payload: Payload; path: string }> {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* payloadsIn(item, `${path}[${i}]`);
    return;
  }
  const record = value as Record<string, unknown>;
  if (record.data instanceof Uint8Array && (record.metadata === undefined || isByteMap(record.metadata))) {
    yield { payload: record as Payload, path: path || '.' };
    return;
  }
  for (const [key, child] of Object.entries(record)) {
    // The byte-valued maps of a payload are handled above; skip protobufjs internals.
    if (key.startsWith('$') || typeof child === 'function') continue;
    yield* payloadsIn(child, path ? `${path}.${key}` : key);
  }
}

const isByteMap = (v: unknown) =>
  v !== null && typeof v === 'object' && Object.values(v).every((x) => x instanceof Uint8Array);

interface Execution {
  workflowId: string;
  runId: string;
}

async function listExecutions(client: Client, target: ScanTarget): Promise<Execution[]> {
  const found = new Map<string, Execution>();
  const add = (e: temporal.api.common.v1.IWorkflowExecution | null | undefined) => {
    if (e?.workflowId && e.runId)
      found.set(`${e.workflowId}/${e.runId}`, { workflowId: e.workflowId, runId: e.runId });
  };
  if (target.workflowIds) {
    for (const workflowId of target.workflowIds) {
      for (const e of await listAll(client, `WorkflowId = ${quote(workflowId)}`, { workflowId })) add(e);
      // Fall back to the latest run when the server has no visibility for it.
      if (![...found.values()].some((e) => e.workflowId === workflowId)) {
        const description = await client.workflow.getHandle(workflowId).describe();
        add({ workflowId, runId: description.runId });
      }
    }
  }
  if (target.taskQueue) {
    for (const e of await listAll(client, `TaskQueue = ${quote(target.taskQueue)}`)) add(e);
  }
  if (target.all || (!target.workflowIds && !target.taskQueue)) {
    for (const e of await listAll(client, '')) add(e);
  }
  return [...found.values()];
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Executions by visibility query. The time-skipping test server answers no visibility query, but
 * it lists open and closed executions: used when the query is refused (only `all` and a workflow
 * id filter can be served that way).
 */
async function listAll(
  client: Client,
  query: string,
  filter: { workflowId?: string } = {},
): Promise<temporal.api.common.v1.IWorkflowExecution[]> {
  const service = client.workflowService;
  const namespace = client.options.namespace;
  const executions: temporal.api.common.v1.IWorkflowExecution[] = [];
  try {
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await service.listWorkflowExecutions({ namespace, query, pageSize: 1000, nextPageToken });
      executions.push(...(page.executions ?? []).map((e) => e.execution ?? {}));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    return executions;
  } catch (err) {
    if (query.startsWith('TaskQueue')) throw err;
  }
  const startTimeFilter = { earliestTime: msNumberToTs(0), latestTime: msNumberToTs(Date.now() + 3_600_000) };
  const executionFilter = filter.workflowId ? { workflowId: filter.workflowId } : undefined;
  for (const list of ['listOpenWorkflowExecutions', 'listClosedWorkflowExecutions'] as const) {
    let nextPageToken: Uint8Array | undefined;
    do {
      const request = {
        namespace,
        maximumPageSize: 1000,
        nextPageToken,
        startTimeFilter,
        ...(executionFilter ? { executionFilter } : {}),
      };
      const page =
        list === 'listOpenWorkflowExecutions'
          ? await service.listOpenWorkflowExecutions(request)
          : await service.listClosedWorkflowExecutions(request);
      executions.push(...(page.executions ?? []).map((e) => e.execution ?? {}));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
  }
  return executions;
}

/** The history as the server stores it: no data converter, payloads as their bytes. */
async function fetchRawHistory(client: Client, execution: Execution): Promise<History> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution,
      nextPageToken,
      maximumPageSize: 1000,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return { events };
}

/** Fails (with every place) when a secret is found; returns the result so a test can print it. */
export async function expectNoSecretsInHistory(
  client: Client,
  target: ScanTarget = { all: true },
  options: ScanOptions = {},
): Promise<ScanResult> {
  if ((options.secrets ?? secrets).length === 0)
    throw new Error('no secret registered: call rememberSecret() first');
  const result = await scanHistories(client, target, options);
  if (result.findings.length > 0) {
    throw new Error(
      `secrets found in Temporal history (${result.findings.length} places):\n  ${result.findings.join('\n  ')}`,
    );
  }
  if (result.runs === 0) throw new Error('the history scan found no workflow run to read');
  return result;
}
