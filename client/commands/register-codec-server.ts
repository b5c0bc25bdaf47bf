// `vaultops codec-server`: the Temporal UI's codec endpoint.
import { type Print, type Program, port } from './cli-options.js';

export function registerCodecServer(program: Program, out: Print): void {
  program
    .command('codec-server')
    .description(
      "serve the Temporal UI's codec endpoint with the worker's keys, for Vault tokens with a policy",
    )
    .requiredOption(
      '--ui-origin <url...>',
      'the Temporal UI origin(s) allowed to call, e.g. https://temporal.example.com',
    )
    .option('--policy <name>', 'the Vault policy a token must carry', 'vaultops-codec')
    .option('--port <port>', 'port on 127.0.0.1 (default: a free port)', port)
    .action(async (opts, cmd) => {
      const { codecServerCommand } = await import('./codec-server.js');
      await codecServerCommand({ ...opts, config: cmd.optsWithGlobals().config }, out);
    });
}
