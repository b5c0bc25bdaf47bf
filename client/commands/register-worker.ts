// `vaultops worker`: a worker in the foreground.
import type { Program } from './cli-options.js';

export function registerWorker(program: Program): void {
  program
    .command('worker')
    .description('run a worker against the configured Vault and Temporal until SIGINT/SIGTERM')
    .action(async (_opts, cmd) => {
      const { runWorkerProcess } = await import('../../workers/main.js');
      await runWorkerProcess(cmd.optsWithGlobals().config);
    });
}
