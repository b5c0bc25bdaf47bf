// Observations as a healthy OpenBao dev server reports them; tests change what they need. And the
// problems a configuration is refused with.
import { ConfigError } from '../../common/config/errors.js';
import type {
  HealthObservation,
  LeaderObservation,
  MountSummary,
  NamespaceObservation,
  SealObservation,
} from '../../common/preflight/report.js';

export const health = (over: Partial<HealthObservation> = {}): HealthObservation => ({
  initialized: true,
  sealed: false,
  standby: false,
  performanceStandby: false,
  version: '2.7.2',
  clusterName: 'vault-cluster-test',
  clusterId: 'b9333f0b-34a5-1be9-da54-33a0b34264c5',
  replicationDrMode: 'disabled',
  replicationPerformanceMode: 'disabled',
  serverTimeUtc: 1_795_325_139,
  enterpriseField: null,
  ...over,
});

export const seal = (over: Partial<SealObservation> = {}): SealObservation => ({
  type: 'shamir',
  sealed: false,
  threshold: 1,
  shares: 1,
  progress: 0,
  storageType: 'raft',
  buildDate: null,
  commitDate: '2026-10-26T20:32:27Z',
  ...over,
});

export const leader = (over: Partial<LeaderObservation> = {}): LeaderObservation => ({
  haEnabled: true,
  isSelf: true,
  leaderAddress: 'https://10.0.0.1:8200',
  leaderClusterAddress: 'https://10.0.0.1:8201',
  raftCommittedIndex: 42,
  ...over,
});

export const mount = (path: string, type: string, plugin = 'v2.7.2+builtin.bao'): MountSummary => ({
  path,
  type,
  description: '',
  kvVersion: type === 'kv' ? '2' : null,
  local: false,
  sealWrap: false,
  runningPluginVersion: plugin,
});

export const namespaces = (over: Partial<NamespaceObservation> = {}): NamespaceObservation => ({
  supported: true,
  children: [],
  evidence: 'LIST sys/namespaces: none yet (404 with no error)',
  ...over,
});

/** The problems a ConfigError lists; fails the test when `fn` is not refused. */
export function configProblems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
