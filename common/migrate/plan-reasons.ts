// What a migration cannot move, and why: the reasons the plan gives its "not migratable" items,
// in one place so the plan, its tests and the documentation say the same thing. Pure.

export const NOT_MIGRATABLE = {
  cubbyhole: "per-token storage: each token's cubbyhole ends with the token, and tokens do not move",
  pkiIssuer: 'its private key is kept inside Vault, which never exports it',
  missingEngine: (type: string) => `the target server has no ${type} secrets engine`,
  missingAuth: (type: string) => `the target server has no ${type} auth method`,
  missingDatabasePlugin: (plugin: string) => `the target server has no ${plugin}`,
  databaseStaticRole:
    "creating a static role rotates the database user's password at once, which needs the connection's password (not copied) and breaks the source's credentials",
  aliasMountGone: 'its auth mount no longer exists at the source (no mount has its accessor)',
  aliasMountNotMigrated: (mount: string) =>
    `its auth mount auth/${mount} is not migrated (not selected, or not migratable), and an alias must point to a mount of the target`,
} as const;
