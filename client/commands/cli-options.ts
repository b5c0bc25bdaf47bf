// What every command registration shares: the program's type, the output, and the parsers of
// options checked before any command module loads. Commander only: `vaultops --help` loads this.
import { type Command, InvalidArgumentError } from '@commander-js/extra-typings';

/** The options every command takes (`cmd.optsWithGlobals()`). */
export type GlobalOptions = {
  config?: string | undefined;
  address?: string | undefined;
  namespace?: string | undefined;
  taskQueue?: string | undefined;
};

export type Program = Command<[], GlobalOptions>;

/** Where commands print their lines (stdout). */
export type Print = (line: string) => void;

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError('must be a port number (1-65535)');
  return n;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}

export function clusterName(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(value)) {
    throw new InvalidArgumentError(
      'must be a cluster name (lowercase letters, digits and "-"), such as "dr-standby"',
    );
  }
  return value;
}

/** For repeatable options: `--approver a --approver b` → ['a', 'b']. */
export const repeat = (value: string, previous: string[] = []) => [...previous, value];
