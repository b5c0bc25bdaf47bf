// Three suites: unit (workflows in the time-skipping environment, activities replaced),
// integration (activities against real servers, once per Vault-API server), e2e (the CLI as a
// user runs it). test/harness/global-setup.ts starts what each project needs.
import { defineConfig } from 'vitest/config';

// Which Vault-API servers the integration suite runs against. VAULTOPS_TEST_SERVER narrows it to one.
const servers = (process.env.VAULTOPS_TEST_SERVER ?? 'openbao,vault')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of servers) {
  if (s !== 'openbao' && s !== 'vault') {
    throw new Error(
      `VAULTOPS_TEST_SERVER: "${s}" is not a server; use openbao, vault, or both comma-separated`,
    );
  }
}

const globalSetup = ['test/harness/global-setup.ts'];

export default defineConfig({
  test: {
    pool: 'forks', // Temporal's native bridge breaks under worker threads
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      ...servers.map((server) => ({
        test: {
          name: `integration:${server}`,
          include: ['test/integration/vault/**/*.test.ts'],
          globalSetup,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      })),
      {
        test: {
          name: 'integration:hsm',
          include: ['test/integration/hsm/**/*.test.ts'],
          globalSetup,
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup,
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
