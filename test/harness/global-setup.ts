// Starts what each test project needs on free 127.0.0.1 ports and stops it afterwards.
// A server that does not start throws here, which fails the run with the server's log tail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { initSoftHsmToken } from '../../client/stack/softhsm.js';
import { toolPath } from '../../client/stack/tools.js';
import { startVaultDevServer, type VaultFlavour } from '../../client/stack/vault-dev.js';
import './context.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), `vaultops-${project.name.replace(/[^a-z0-9]+/gi, '-')}-`));
  const teardown: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const [suite, variant] = project.name.split(':');

  if (suite === 'unit' || (suite === 'integration' && variant !== 'hsm')) {
    project.provide('temporalTestServerPath', toolPath('temporal-test-server'));
  }

  if (suite === 'integration' && (variant === 'openbao' || variant === 'vault')) {
    const flavour: VaultFlavour = variant;
    const server = await startVaultDevServer({ flavour, logDir: dir });
    teardown.push(() => server.stop());
    project.provide('vault', {
      flavour,
      address: server.address,
      rootToken: server.rootToken,
      binary: toolPath(flavour),
    });
  }

  // Every integration project has its own token: the CA workflows need Vault and an HSM together.
  if (suite === 'integration') {
    const token = initSoftHsmToken({ dir: join(dir, 'softhsm'), label: 'vaultops-test' });
    project.provide('hsm', {
      modulePath: token.modulePath,
      confPath: token.confPath,
      label: token.label,
      userPin: token.userPin,
    });
  }

  if (suite === 'e2e') {
    // Installed here, not inside a test, so tool installation never counts against a test's time.
    project.provide('tools', { temporal: toolPath('temporal'), openbao: toolPath('openbao') });
    toolPath('softhsm');
  }

  return async () => {
    for (const step of teardown.reverse()) await step();
  };
}
