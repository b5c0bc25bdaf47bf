// The Temporal dev server (`temporal server start-dev`) with its Web UI and a SQLite file, so
// workflow history survives a restart of the stack.
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { freePort } from './ports.js';
import { httpReady, type ManagedProcess, startProcess } from './process.js';
import { toolPath } from './tools.js';

export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  namespace: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

async function namespaceReady(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: '2s' });
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

export async function startTemporalDevServer(options: {
  stateDir: string;
  logDir: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  /** A codec server the UI decodes payloads through (`--ui-codec-endpoint`). */
  codecEndpoint?: string;
}): Promise<TemporalDevServer> {
  const binary = toolPath('temporal');
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  const uiReady = httpReady(uiUrl);
  const proc = await startProcess({
    name: 'Temporal dev server',
    command: binary,
    args: [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--db-filename',
      join(options.stateDir, 'temporal.sqlite'),
      '--namespace',
      namespace,
      '--log-level',
      'warn',
      ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
    ],
    logFile: join(options.logDir, 'temporal-dev.log'),
    ready: async () => (await uiReady()) && (await namespaceReady(address, namespace)),
    timeoutMs: 90_000,
  });
  return { address, uiUrl, namespace, process: proc, stop: () => proc.stop() };
}
