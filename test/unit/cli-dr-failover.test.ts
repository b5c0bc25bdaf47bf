// `vaultops dr failover` input: bad options are refused (exit 2) with what to fix before anything
// connects; good ones become drFailoverWorkflow's input. `dr unseal-share` refuses a bad --cluster
// before it reads any share.
import { describe, expect, it } from 'vitest';
import { parseDrFailback } from '../../client/commands/dr/failback.js';
import { drUnsealShareCommand } from '../../client/commands/dr/failover.js';
import { parseDrFailover } from '../../client/commands/dr/failover-args.js';
import { UsageError } from '../../client/commands/usage-error.js';

const refused = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('not refused');
};

describe('dr failover options', () => {
  it('approvers, quorum and timeout become the approval policy, with the requester', () => {
    expect(
      parseDrFailover(
        {
          from: 'primary',
          to: 'standby',
          approver: ['bob,carol'],
          quorum: '2',
          hook: './dns.sh',
          snapshot: 'p-1',
        },
        'alice',
      ),
    ).toEqual({
      fromCluster: 'primary',
      toCluster: 'standby',
      approval: { requester: 'alice', approvers: ['bob', 'carol'], quorum: 2, timeout: '1h' },
      snapshotId: 'p-1',
      hook: './dns.sh',
    });
  });

  it('--auto-approve is a pre-approved policy; --force skips detection; --fence-watch is a duration', () => {
    expect(
      parseDrFailover({ from: 'a', to: 'b', autoApprove: true, force: true, fenceWatch: '10m' }, 'alice'),
    ).toEqual({
      fromCluster: 'a',
      toCluster: 'b',
      force: true,
      autoApprove: { by: 'alice' },
      fenceWatchMs: 600_000,
    });
  });

  it('--detect, --probe-every and --probe-timeout set the detection policy', () => {
    expect(
      parseDrFailover(
        { from: 'a', to: 'b', autoApprove: true, detect: '4/6', probeEvery: '2s', probeTimeout: '500ms' },
        'x',
      ).detection,
    ).toEqual({ failuresToDeclare: 4, rounds: 6, intervalMs: 2000, probeTimeoutMs: 500 });
    expect(
      refused(() => parseDrFailover({ from: 'a', to: 'b', autoApprove: true, detect: '6/5' }, 'x')),
    ).toMatch(/failuresToDeclare must be between 1 and rounds \(5\)/);
    expect(
      refused(() => parseDrFailover({ from: 'a', to: 'b', autoApprove: true, detect: 'most' }, 'x')),
    ).toMatch(/--detect must be <failures>\/<rounds>/);
    expect(
      refused(() =>
        parseDrFailover({ from: 'a', to: 'b', autoApprove: true, force: true, detect: '3/5' }, 'x'),
      ),
    ).toMatch(/--force skips detection/);
  });

  it('refuses what cannot be a failover, saying what to fix', () => {
    expect(refused(() => parseDrFailover({ from: 'a', to: 'a', autoApprove: true }, 'x'))).toMatch(
      /--to must be another cluster than --from/,
    );
    expect(refused(() => parseDrFailover({ from: 'A', to: 'b', autoApprove: true }, 'x'))).toMatch(
      /--from must be/,
    );
    expect(refused(() => parseDrFailover({ from: 'a', to: 'b' }, 'x'))).toMatch(
      /give --approver <name> \(repeatable\), or --auto-approve/,
    );
    expect(
      refused(() => parseDrFailover({ from: 'a', to: 'b', autoApprove: true, approver: ['bob'] }, 'x')),
    ).toMatch(/not both/);
    expect(refused(() => parseDrFailover({ from: 'a', to: 'b', approver: ['alice'] }, 'alice'))).toMatch(
      /cannot gate the failover/,
    );
    expect(
      refused(() => parseDrFailover({ from: 'a', to: 'b', autoApprove: true, fenceWatch: 'soon' }, 'x')),
    ).toMatch(/--fence-watch must be a duration/);
    expect(refused(() => parseDrFailover({ from: 'a', to: 'b', autoApprove: true, hook: ' ' }, 'x'))).toMatch(
      /--hook must be a command/,
    );
  });

  it('unseal-share refuses a bad --cluster before reading a share', async () => {
    let asked = false;
    await expect(
      drUnsealShareCommand(
        'dr-failover:a:b',
        { cluster: 'Not A Cluster' },
        () => undefined,
        async () => {
          asked = true;
          return 'x';
        },
      ),
    ).rejects.toThrow(UsageError);
    expect(asked).toBe(false);
  });
});

describe('dr failback options (the approval options are shared with failover)', () => {
  it('approvers become the policy; --auto-approve is the pre-approved policy instead', () => {
    expect(parseDrFailback({ from: 'standby', to: 'primary', approver: ['bob'] }, 'alice')).toMatchObject({
      fromCluster: 'standby',
      toCluster: 'primary',
      approval: { requester: 'alice', approvers: ['bob'], quorum: 1, timeout: '1h' },
    });
    const auto = parseDrFailback({ from: 'standby', to: 'primary', autoApprove: true }, 'alice');
    expect(auto).toMatchObject({ autoApprove: { by: 'alice' } });
    expect(auto).not.toHaveProperty('approval');
  });

  it('refuses both, neither, and a bad quorum, naming the failback', () => {
    expect(
      refused(() =>
        parseDrFailback({ from: 'standby', to: 'primary', autoApprove: true, approver: ['bob'] }, 'a'),
      ),
    ).toMatch(/--auto-approve .* or --approver, not both/);
    expect(refused(() => parseDrFailback({ from: 'standby', to: 'primary' }, 'a'))).toMatch(
      /^the approval cannot gate the failback .*give --approver <name>/,
    );
    expect(
      refused(() => parseDrFailback({ from: 'standby', to: 'primary', approver: ['bob'], quorum: '0' }, 'a')),
    ).toMatch(/--quorum must be a whole number/);
  });
});
