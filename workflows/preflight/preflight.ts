// Preflight: inspect one Vault cluster before any operation touches it, the way an operator
// starts every runbook: is it up, unsealed, which server, who leads, what is mounted.
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { PreflightActivities, PreflightTarget } from '../../activities/preflight/observations.js';
import { assemblePreflightReport, type PreflightReport } from '../../common/preflight/report.js';

const vault = proxyActivities<PreflightActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
  },
});

export type PreflightInput = PreflightTarget;

export async function preflightWorkflow(input: PreflightInput = {}): Promise<PreflightReport> {
  const target = await vault.describeTarget(input);

  // 1. Reachability and state: answered even when sealed or a standby.
  const health = await vault.readHealth(input);
  const seal = await vault.readSealStatus(input);

  // 2. Everything else needs an unsealed, initialized cluster.
  const usable = health.initialized && !seal.sealed;
  const leader = usable ? await vault.readLeader(input) : null;
  const secretsEngines = usable ? await vault.listSecretsEngines(input) : null;
  const authMethods = usable ? await vault.listAuthMethods(input) : null;
  const namespaces = usable ? await vault.probeNamespaces(input) : null;
  // Added after the first release: histories recorded without this step replay without it.
  const plugins = usable && patched('preflight-plugin-catalog') ? await vault.readPluginCatalog(input) : null;

  // 3. Verdict: flavour, edition, warnings. Pure, so replay gives the same answer.
  return assemblePreflightReport(
    { ...target, health, seal, leader, secretsEngines, authMethods, namespaces, plugins },
    new Date(workflowInfo().startTime).toISOString(),
  );
}
