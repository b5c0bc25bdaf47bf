// Which Temporal the CLI talks to: --address, else TEMPORAL_ADDRESS (or the config file), else a
// dev stack running on this machine, else 127.0.0.1:7233.
import { Client } from '@temporalio/client';
import type { TemporalConfig } from '../common/config.js';
import { loadConfig } from '../common/config-file.js';
import { connectTemporalClient } from '../workers/connections.js';
import { readRunningStack } from './dev-state.js';

export interface GlobalOptions {
  config?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
}

export interface TemporalTarget {
  temporal: TemporalConfig;
  uiUrl: string | undefined;
}

export function resolveTemporal(opts: GlobalOptions): TemporalTarget {
  const configured = opts.config ?? process.env.VAULTOPS_CONFIG ?? process.env.TEMPORAL_ADDRESS;
  const stack = configured ? undefined : readRunningStack();
  const env = {
    ...process.env,
    ...(stack
      ? {
          TEMPORAL_ADDRESS: stack.temporalAddress,
          TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? stack.temporalNamespace,
          VAULTOPS_TASK_QUEUE: process.env.VAULTOPS_TASK_QUEUE ?? stack.taskQueue,
        }
      : {}),
  };
  // The CLI never talks to Vault itself; only the Temporal part of the configuration matters here.
  const config = loadConfig(opts.config, env);
  const temporal = {
    ...config.temporal,
    ...(opts.address ? { address: opts.address } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.taskQueue ? { task_queue: opts.taskQueue } : {}),
  };
  return { temporal, uiUrl: stack?.uiUrl ?? process.env.TEMPORAL_UI_URL };
}

export async function withClient<T>(target: TemporalTarget, fn: (client: Client) => Promise<T>): Promise<T> {
  let connection: Awaited<ReturnType<typeof connectTemporalClient>>;
  try {
    connection = await connectTemporalClient(target.temporal);
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${target.temporal.address}: ${(err as Error).message}\n` +
        'Start the embedded stack with `npm run dev`, or set TEMPORAL_ADDRESS (or --address) to your Temporal frontend.',
    );
  }
  try {
    return await fn(new Client({ connection, namespace: target.temporal.namespace }));
  } finally {
    await connection.close();
  }
}
