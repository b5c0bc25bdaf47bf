// A CLI process started by an e2e test: its combined output so far, and its exit.
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Waits until the output contains `text`; fails with the output if the process exits first. */
  waitFor(text: string, timeoutMs: number): Promise<void>;
}

export function spawnCollecting(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string },
): Spawned {
  const child = spawn(command, args, options);
  let text = '';
  child.stdout?.on('data', (d) => {
    text += d;
  });
  child.stderr?.on('data', (d) => {
    text += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited,
    async waitFor(wanted, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!text.includes(wanted)) {
        if (child.exitCode !== null)
          throw new Error(`${args.join(' ')} exited with ${child.exitCode}:\n${text}`);
        if (Date.now() > deadline)
          throw new Error(`${args.join(' ')}: no "${wanted}" within ${timeoutMs / 1000}s:\n${text}`);
        await sleep(200);
      }
    },
  };
}
