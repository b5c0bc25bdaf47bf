// The auth-role step of a migration, retried after an attempt cut short: an AppRole role is created
// with one write and given the source's role ID with a second, so a worker killed (or a reply lost)
// between them leaves the target role with a random role ID. The retry finds the role in the
// ledger (this migration made it) and sets the role ID; a same-named role the ledger does not name
// is someone else's and is left alone. Run in one namespace with a mount prefix, on both servers.
import { afterAll, describe, expect, it } from 'vitest';
import {
  copyAuthRoles,
  withTargetPolicies,
  writableSettings,
} from '../../../activities/migrate/auth-roles.js';
import { ledgerAt } from '../../../activities/migrate/ledger.js';
import { ledgerLocation, type TargetMapping } from '../../../common/migrate/run.js';
import { rootClient, server, unique } from '../../harness/vault.js';

const root = rootClient();
afterAll(async () => {
  await root.close();
});

const roleIdOf = async (path: string) =>
  ((await root.read(`${path}/role-id`)) as { data: { role_id: string } }).data.role_id;

describe(`AppRole copy, retried, on ${server().flavour}`, () => {
  it("a role this migration created without its role ID gets the source's on the retry; another's is left alone", async () => {
    const path = unique('approle');
    const prefix = `${unique('moved')}-`;
    await root.write(`sys/auth/${path}`, { type: 'approle' });
    await root.write(`sys/auth/${prefix}${path}`, { type: 'approle' });
    for (const role of ['ours', 'theirs'])
      await root.write(`auth/${path}/role/${role}`, { token_ttl: '1h', token_policies: [] });
    const mapping: TargetMapping = {
      from: '',
      to: '',
      prefix,
      only: { mounts: [`auth/${path}/`], policies: [] },
    };
    const ledger = ledgerAt(root, ledgerLocation(unique('ledger'), undefined, 'secret'));

    // The cut-short attempt: "ours" recorded and created with the source's settings, no role ID
    // set; "theirs" was at the target before the migration, with the same settings.
    const label = (role: string) => `auth/${prefix}${path}/role/${role}`;
    await ledger.record({ kind: 'auth-role', name: label('ours') });
    for (const role of ['ours', 'theirs']) {
      const read = ((await root.read(`auth/${path}/role/${role}`)) as { data: Record<string, unknown> }).data;
      await root.write(label(role), withTargetPolicies(writableSettings(read), mapping, new Set()));
    }
    const theirsBefore = await roleIdOf(label('theirs'));
    expect(await roleIdOf(label('ours'))).not.toBe(await roleIdOf(`auth/${path}/role/ours`));

    const report = await copyAuthRoles(root, root, ledger, mapping);

    expect(await roleIdOf(label('ours'))).toBe(await roleIdOf(`auth/${path}/role/ours`));
    expect(report.created).toEqual([label('ours')]);
    expect(report.skipped).toEqual([label('theirs')]);
    expect(await roleIdOf(label('theirs'))).toBe(theirsBefore);
  });
});
