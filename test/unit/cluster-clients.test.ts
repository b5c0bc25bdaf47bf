// The worker's clients by cluster name: the name an activity's input gives picks the client, and a
// name no cluster has fails at once (not retried) with the names that exist.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { clusterClients, resolveClusters, UNKNOWN_CLUSTER } from '../../activities/clusters.js';
import { createPreflightActivities } from '../../activities/preflight/observations.js';
import type { VaultClient } from '../../vault/client.js';

const stub = (address: string) => ({ address, namespace: undefined }) as unknown as VaultClient;
const primary = stub('https://primary:8200');
const standby = stub('https://standby:8200');

function failureOf(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected an ApplicationFailure');
}

describe('cluster clients', () => {
  it('gives each name its client, "default" when no name is given', () => {
    const clusters = clusterClients(
      new Map([
        ['dr-standby', standby],
        ['default', primary],
      ]),
    );
    expect(clusters.get()).toBe(primary);
    expect(clusters.get('default')).toBe(primary);
    expect(clusters.get('dr-standby')).toBe(standby);
    expect(clusters.names()).toEqual(['default', 'dr-standby']);
  });

  it('refuses an unknown name with a non-retryable UnknownCluster naming the known clusters', () => {
    const failure = failureOf(() =>
      clusterClients({ default: primary, 'dr-standby': standby }).get('dr-stanby'),
    );
    expect(failure.type).toBe(UNKNOWN_CLUSTER);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      'no Vault cluster named "dr-stanby" is configured on this worker; known clusters: default, dr-standby. ' +
        'Name one of them, or add "dr-stanby" under vault_clusters: in the worker\'s configuration and restart it',
    );
    expect(failure.details).toEqual([{ cluster: 'dr-stanby', known: ['default', 'dr-standby'] }]);
  });

  it('treats { vault } alone as the one default cluster', () => {
    const clusters = resolveClusters({ vault: primary });
    expect(clusters.get()).toBe(primary);
    expect(failureOf(() => clusters.get('dr')).message).toContain('known clusters: default.');
  });

  it('fails an activity asked for an unknown cluster before it touches Vault', async () => {
    const activities = createPreflightActivities({
      vault: primary,
      clusters: clusterClients({ default: primary }),
    });
    await expect(activities.describeTarget({ cluster: 'dr' })).rejects.toMatchObject({
      type: UNKNOWN_CLUSTER,
      nonRetryable: true,
    });
    await expect(activities.describeTarget({})).resolves.toEqual({
      cluster: 'default',
      address: 'https://primary:8200',
      namespace: null,
    });
  });
});
