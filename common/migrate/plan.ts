// The migration plan, computed from the inventories of the source and target
// namespaces. Each item is copied exactly; copied with a caveat that names the action the
// operator must take; or not migratable, with the reason. Conflicts (the target holds something
// of the same name with different content: digests differ) and gaps (the target server lacks a
// plugin, an auth method, namespaces) are listed. Pure: no I/O, no secret values (the
// inventories hold names, counts and digests only).
import type { AuthMethodItem, MountItem, NamespaceInventory, ServerFacts } from './inventory.js';
import { identityItems } from './plan-identity.js';
import { NOT_MIGRATABLE } from './plan-reasons.js';
import type { Gap, MigrationPlan, PlanItem, Verdict } from './plan-types.js';

export type { Gap, MigrationPlan, PlanItem, PlanItemKind, Verdict } from './plan-types.js';

/** Types the plan knows how to move beyond the mount itself. */
const COPIED_ENGINES = new Set(['kv', 'transit', 'pki', 'database']);
/** Engines every server has without listing them in its plugin catalog. */
const BUILT_IN_ENGINES = new Set(['kv', 'database', 'cubbyhole', 'ns_cubbyhole']);
const ROLE_COPYING_AUTH = new Set(['approle', 'userpass', 'jwt', 'oidc', 'kubernetes', 'cert', 'ldap']);

const ns = (name: string) => (name === '' ? '(root)' : name);
const trim = (path: string) => path.replace(/\/+$/, '');
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : /s$/.test(word) ? 'es' : 's'}`;

export function buildMigrationPlan(source: NamespaceInventory, target: NamespaceInventory): MigrationPlan {
  const gaps: Gap[] = [];
  const items: PlanItem[] = [];
  const notes: string[] = [
    'KV versions are written in order at the target: version numbers, deletion and destruction match; ' +
      'created and deletion times are those of the copy.',
  ];
  const tgt = target.server;

  if (target.namespace !== '' && !tgt.namespaces)
    gaps.push({
      missing: 'namespaces',
      impact: `the target server (${describe(tgt)}) has no namespaces, so ${ns(target.namespace)} cannot exist there; migrate into another cluster or mount paths of the root namespace`,
      blocking: true,
    });
  else if (!target.exists)
    notes.push(`The target namespace ${ns(target.namespace)} does not exist yet: the migration creates it.`);
  if (tgt.catalog === null)
    notes.push(
      "The target's plugin catalog is not readable with this token: missing engines, auth methods and database plugins are not checked.",
    );
  if (source.unreadable.length > 0)
    notes.push(`Not readable with this token, so not planned: ${source.unreadable.join('; ')}.`);

  const gap = (missing: string, impact: string) => {
    if (!gaps.some((g) => g.missing === missing)) gaps.push({ missing, impact, blocking: false });
  };

  // Secrets engines and their data.
  const targetMounts = new Map(target.secretsEngines.map((m) => [m.path, m]));
  for (const m of source.secretsEngines) {
    const item = engineItem(m, tgt, gap);
    const conflict = mountConflict(m, targetMounts.get(m.path));
    items.push(conflict ? { ...item, conflict } : item);
  }
  for (const kv of source.kv) {
    const targetKv = target.kv.find((t) => t.mount === kv.mount);
    const counts =
      kv.kvVersion === '2'
        ? `${plural(kv.secrets, 'secret')}, ${plural(kv.versions, 'version')} (${kv.deletedVersions} deleted, ${kv.destroyedVersions} destroyed, ${kv.prunedVersions} pruned)`
        : `${plural(kv.secrets, 'secret')} (KV v1: the one value per key is copied to a KV v1 mount and compared by digest)`;
    const item: PlanItem =
      kv.deletedVersions > 0
        ? {
            kind: 'kv-data',
            name: `${kv.mount}/`,
            verdict: 'caveat',
            detail: counts,
            action:
              `${plural(kv.deletedVersions, 'soft-deleted version')} ${kv.deletedVersions === 1 ? 'is' : 'are'} copied as deleted ` +
              'placeholders: their data cannot be read without undeleting them at the source; undelete them there before the migration if they must move with their data',
          }
        : { kind: 'kv-data', name: `${kv.mount}/`, verdict: 'exact', detail: counts };
    items.push(
      targetKv && targetKv.secrets > 0
        ? {
            ...item,
            conflict: `the target's ${kv.mount}/ already holds ${plural(targetKv.secrets, 'secret')}`,
          }
        : item,
    );
  }

  // Auth methods and their roles.
  const targetAuth = new Map(target.authMethods.map((m) => [m.path, m]));
  const migratableAuth = new Set<string>();
  for (const m of source.authMethods) {
    const there = targetAuth.get(m.path);
    const item = authItem(m, tgt, gap);
    const conflict = mountConflict(m, there);
    items.push(conflict ? { ...item, conflict } : item);
    if (item.verdict === 'not-migratable') continue;
    migratableAuth.add(m.path);
    const thereRoles = new Map((there?.roles ?? []).map((r) => [r.name, r.digest]));
    for (const role of m.roles) {
      const roleItem = authRoleItem(m, role.name, role.secretIds, role.list);
      const other = thereRoles.get(role.name);
      items.push(
        other !== undefined && other !== role.digest
          ? { ...roleItem, conflict: `the target's ${roleItem.name} has other settings` }
          : roleItem,
      );
    }
  }

  // Policies.
  const targetPolicies = new Map(target.policies.map((p) => [p.name, p.digest]));
  const children = source.childNamespaces.map(trim).filter(Boolean);
  for (const p of source.policies) {
    const nested = p.paths.filter((path) => children.some((c) => path === c || path.startsWith(`${c}/`)));
    const item: PlanItem =
      nested.length > 0
        ? {
            kind: 'policy',
            name: `policy ${p.name}`,
            verdict: 'caveat',
            detail: plural(p.paths.length, 'path'),
            action: `adjust namespace-relative paths (${nested.join(', ')}): they name child namespaces of ${ns(source.namespace)}, which the target's paths resolve from ${ns(target.namespace)}`,
          }
        : {
            kind: 'policy',
            name: `policy ${p.name}`,
            verdict: 'exact',
            detail: plural(p.paths.length, 'path'),
          };
    const other = targetPolicies.get(p.name);
    items.push(
      other !== undefined && other !== p.digest
        ? { ...item, conflict: `the target's policy ${p.name} has other rules` }
        : item,
    );
  }

  // Identity: entities, groups, and their aliases re-linked to the migrated auth mounts.
  items.push(...identityItems(source, target, migratableAuth));

  // Transit keys.
  const targetKeys = new Set(target.transitKeys.map((k) => `${k.mount}/${k.name}`));
  for (const k of source.transitKeys) {
    const name = `${k.mount}/keys/${k.name}`;
    const detail = `${k.type}, ${plural(k.latestVersion, 'version')}`;
    const portable = k.exportable && k.allowPlaintextBackup;
    const item: PlanItem = portable
      ? { kind: 'transit-key', name, verdict: 'exact', detail: `${detail}; moved by backup/restore` }
      : {
          kind: 'transit-key',
          name,
          verdict: 'caveat',
          detail: `${detail}; ${[!k.exportable && 'not exportable', !k.allowPlaintextBackup && 'no plaintext backup'].filter(Boolean).join(', ')}`,
          action:
            'the key material cannot leave the source: a new key of the same type is created at the target; ' +
            "apps must decrypt their ciphertexts at the source and re-encrypt them under the target's key (and re-sign)",
        };
    items.push(
      targetKeys.has(`${k.mount}/${k.name}`)
        ? { ...item, conflict: `a key named ${k.name} exists in the target's ${k.mount}/` }
        : item,
    );
  }

  // PKI.
  for (const pki of source.pki) {
    const there = target.pki.find((t) => t.mount === pki.mount);
    for (const issuer of pki.issuers)
      items.push({
        kind: 'pki-issuer',
        name: `${pki.mount}/issuer/${issuer.name || issuer.id}`,
        verdict: 'not-migratable',
        detail: `issuer ${issuer.id}`,
        reason: NOT_MIGRATABLE.pkiIssuer,
        action:
          'issue a new intermediate at the target (vaultops ca bootstrap) and publish old and new in the trust bundle until the old one expires',
      });
    const thereRoles = new Map((there?.roles ?? []).map((r) => [r.name, r.digest]));
    for (const role of pki.roles) {
      const other = thereRoles.get(role.name);
      items.push({
        kind: 'pki-role',
        name: `${pki.mount}/roles/${role.name}`,
        verdict: 'exact',
        detail: 'role settings',
        ...(other !== undefined && other !== role.digest
          ? { conflict: `the target's ${pki.mount}/roles/${role.name} has other settings` }
          : {}),
      });
    }
  }

  // Database engine.
  for (const db of source.database) {
    const there = target.database.find((t) => t.mount === db.mount);
    for (const c of db.connections) {
      const name = `${db.mount}/config/${c.name}`;
      const conflict = there?.connections.some((t) => t.name === c.name)
        ? { conflict: `a connection named ${c.name} exists in the target's ${db.mount}/` }
        : {};
      if (tgt.catalog && !tgt.catalog.database.includes(c.plugin)) {
        gap(`database plugin ${c.plugin}`, `connections using it cannot be configured at the target`);
        items.push({
          kind: 'database-connection',
          name,
          verdict: 'not-migratable',
          detail: c.plugin,
          reason: NOT_MIGRATABLE.missingDatabasePlugin(c.plugin),
          ...conflict,
        });
        continue;
      }
      items.push({
        kind: 'database-connection',
        name,
        verdict: 'caveat',
        detail: c.plugin,
        action: `re-enter the connection's password (vault write ${db.mount}/config/${c.name} password=…): Vault never returns it, so the connection is written with verify_connection=false; rotate-root there afterwards if Vault should own it`,
        ...conflict,
      });
    }
    for (const role of db.roles)
      items.push({
        kind: 'database-role',
        name: `${db.mount}/roles/${role}`,
        verdict: 'exact',
        detail: 'dynamic role',
      });
    for (const role of db.staticRoles)
      items.push({
        kind: 'database-role',
        name: `${db.mount}/static-roles/${role}`,
        verdict: 'not-migratable',
        detail: 'static role',
        reason: NOT_MIGRATABLE.databaseStaticRole,
        action:
          'create it at the target after re-entering the connection password, in the cutover window, and move its apps with it',
      });
  }

  const count = (v: Verdict) => items.filter((i) => i.verdict === v).length;
  const conflicts = items.filter((i) => i.conflict !== undefined).length;
  return {
    from: source.namespace,
    to: target.namespace,
    source: { flavour: source.server.flavour, version: source.server.version },
    target: {
      flavour: tgt.flavour,
      version: tgt.version,
      namespaces: tgt.namespaces,
      namespaceExists: target.exists,
    },
    items,
    gaps,
    notes,
    summary: {
      exact: count('exact'),
      caveat: count('caveat'),
      notMigratable: count('not-migratable'),
      conflicts,
      gaps: gaps.length,
      ready: conflicts === 0 && !gaps.some((g) => g.blocking),
    },
  };
}

function describe(server: ServerFacts): string {
  return `${server.flavour === 'openbao' ? 'OpenBao' : 'HashiCorp Vault'} ${server.version}`;
}

function mountConflict(source: MountItem, there: MountItem | undefined): string | undefined {
  if (!there || there.digest === source.digest) return undefined;
  return there.type !== source.type
    ? `the target has a ${there.type} mount at ${there.path}`
    : `the target's ${there.path} has other tuning`;
}

function engineItem(
  m: MountItem,
  target: ServerFacts,
  gap: (missing: string, impact: string) => void,
): PlanItem {
  const detail = m.type === 'kv' ? `kv v${m.kvVersion ?? '1'}` : m.type;
  const base = { kind: 'secrets-engine' as const, name: m.path, detail };
  if (m.type === 'cubbyhole' || m.type === 'ns_cubbyhole')
    return {
      ...base,
      verdict: 'not-migratable',
      reason: NOT_MIGRATABLE.cubbyhole,
    };
  if (target.catalog && !BUILT_IN_ENGINES.has(m.type) && !target.catalog.secret.includes(m.type)) {
    gap(`secrets engine ${m.type}`, `${m.type} mounts cannot be enabled at the target`);
    return {
      ...base,
      verdict: 'not-migratable',
      reason: NOT_MIGRATABLE.missingEngine(m.type),
    };
  }
  if (!COPIED_ENGINES.has(m.type))
    return {
      ...base,
      verdict: 'caveat',
      action: `the mount and its tuning are copied, not its contents: re-create the ${m.type} engine's configuration and roles at the target`,
    };
  return { ...base, verdict: 'exact' };
}

function authItem(
  m: AuthMethodItem,
  target: ServerFacts,
  gap: (missing: string, impact: string) => void,
): PlanItem {
  const base = {
    kind: 'auth-method' as const,
    name: `auth/${m.path}`,
    detail: m.roleKind ? `${m.type}, ${plural(m.roles.length, m.roleKind)}` : m.type,
  };
  if (target.catalog && !target.catalog.auth.includes(m.type)) {
    gap(`auth method ${m.type}`, `logins through ${m.type} cannot be set up at the target`);
    return { ...base, verdict: 'not-migratable', reason: NOT_MIGRATABLE.missingAuth(m.type) };
  }
  if (!ROLE_COPYING_AUTH.has(m.type))
    return {
      ...base,
      verdict: 'caveat',
      action: `the mount and its tuning are copied, not its configuration or roles: re-create them at the target`,
    };
  if (m.unreadableConfig.length > 0)
    return {
      ...base,
      verdict: 'caveat',
      action: `re-enter ${m.unreadableConfig.join(', ')} in its configuration at the target (Vault never returns it)`,
    };
  return { ...base, verdict: 'exact' };
}

function authRoleItem(
  m: AuthMethodItem,
  role: string,
  secretIds: number | undefined,
  list: string | undefined,
): PlanItem {
  const name = `auth/${m.path}${list ?? (m.roleKind === 'user' ? 'users' : m.roleKind === 'certificate' ? 'certs' : 'role')}/${role}`;
  if (m.type === 'approle' && (secretIds ?? 0) > 0)
    return {
      kind: 'auth-role',
      name,
      verdict: 'caveat',
      detail: `role ID copied; ${plural(secretIds ?? 0, 'secret ID')} at the source`,
      action:
        'AppRole secret IDs are reissued: generate new secret IDs at the target and deliver them to the apps',
    };
  if (m.type === 'userpass')
    return {
      kind: 'auth-role',
      name,
      verdict: 'caveat',
      detail: 'user settings and policies',
      action: "reset the user's password at the target (Vault keeps only a hash, which it never returns)",
    };
  const what = list === 'groups' ? 'group' : (m.roleKind ?? 'role');
  return { kind: 'auth-role', name, verdict: 'exact', detail: `${what} settings` };
}

// --- output -------------------------------------------------------------------------------------

/** The plan as table rows: a header, then one row per item. */
export function planRows(plan: MigrationPlan): string[][] {
  return [
    ['KIND', 'NAME', 'VERDICT', 'DETAIL', 'ACTION / REASON', 'CONFLICT'],
    ...plan.items.map((i) => [
      i.kind,
      i.name,
      i.verdict,
      i.detail,
      i.action ?? i.reason ?? '',
      i.conflict ?? '',
    ]),
  ];
}

/** The lines above and below the table: what moves where, gaps, notes and the verdict. */
export function planHeadline(plan: MigrationPlan): string[] {
  const server = (s: { flavour: ServerFacts['flavour']; version: string }) =>
    `${s.flavour === 'openbao' ? 'OpenBao' : 'HashiCorp Vault'} ${s.version}`;
  return [
    `Migration plan: ${ns(plan.from)} (${server(plan.source)}) -> ${ns(plan.to)} (${server(plan.target)}${targetState(plan)})`,
    `${plan.summary.exact} exact, ${plan.summary.caveat} with a caveat, ${plan.summary.notMigratable} not migratable; ` +
      `${plural(plan.summary.conflicts, 'conflict')}, ${plural(plan.summary.gaps, 'gap')} at the target`,
  ];
}

function targetState(plan: MigrationPlan): string {
  if (plan.to !== '' && !plan.target.namespaces) return ', which has no namespaces';
  return plan.target.namespaceExists ? '' : ', to be created';
}

export function planFooter(plan: MigrationPlan): string[] {
  return [
    ...plan.gaps.map(
      (g) => `Gap${g.blocking ? ' (blocking)' : ''}: the target lacks ${g.missing}: ${g.impact}`,
    ),
    ...plan.notes.map((n) => `Note: ${n}`),
    plan.summary.ready
      ? 'Ready: no conflict and no blocking gap.'
      : 'Not ready: resolve the conflicts and blocking gaps above first.',
  ];
}

export function planJson(plan: MigrationPlan): string {
  return JSON.stringify(plan, null, 2);
}
