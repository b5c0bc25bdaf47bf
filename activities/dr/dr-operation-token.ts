// The DR operation batch token, read on the worker at the moment it is needed and never returned:
// from the file the workflow input names (a path on the worker, not the token), else from the file
// $VAULTOPS_DR_OPERATION_TOKEN_FILE names, else from $VAULTOPS_DR_OPERATION_TOKEN. A batch token is
// made on the primary ahead of time (it replicates to the DR secondaries) so that a failover needs
// no key holders; the file is where the operator's secret store puts it.
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { DR_OPERATION_TOKEN_ENV, DR_OPERATION_TOKEN_FILE_ENV } from '../../common/dr/replication.js';

/** The failure type when no token can be read: not retried (the configuration must change). */
export const NO_DR_OPERATION_TOKEN = 'DrNoOperationToken';

const missing = (why: string) =>
  ApplicationFailure.create({
    type: NO_DR_OPERATION_TOKEN,
    nonRetryable: true,
    message:
      `no DR operation token: ${why}. Put a DR operation batch token (made on the primary: ` +
      `vault token create -type=batch -orphan -policy=<dr-ops>) in a file readable by the worker and name it with ` +
      `--dr-operation-token-file or $${DR_OPERATION_TOKEN_FILE_ENV} on the worker`,
  });

/** Where the token would be read from, for the report; never the token. */
export function drOperationTokenSource(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const named = file ?? env[DR_OPERATION_TOKEN_FILE_ENV];
  if (named) return `file ${named}`;
  if (env[DR_OPERATION_TOKEN_ENV]) return `$${DR_OPERATION_TOKEN_ENV} on the worker`;
  return 'none';
}

export async function readDrOperationToken(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const named = file ?? env[DR_OPERATION_TOKEN_FILE_ENV];
  if (named) {
    let text: string;
    try {
      text = await readFile(named, 'utf8');
    } catch (err) {
      throw missing(`the file ${named} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const token = text.trim();
    if (token === '') throw missing(`the file ${named} is empty`);
    return token;
  }
  const fromEnv = env[DR_OPERATION_TOKEN_ENV]?.trim();
  if (fromEnv) return fromEnv;
  throw missing(`no file was named and $${DR_OPERATION_TOKEN_ENV} is not set on the worker`);
}
