// The database secrets engine: connections, dynamic roles (a fresh user per lease), static roles
// (Vault rotates an existing user's password), root and role rotation, and leases.
// Connection configs are checked here with zod before Vault sees them, so a typo is our clear
// error, not a half-configured connection.
import { z } from 'zod';
import type { VaultClient } from './client.js';
import { segment, vaultPath } from './paths.js';
import { parseResponse } from './response.js';

const templated = z.string().refine((u) => u.includes('{{username}}') && u.includes('{{password}}'), {
  message: 'must contain {{username}} and {{password}} so Vault can rotate the credentials it holds',
});

const common = {
  name: z.string().regex(/^[a-zA-Z0-9_-]+$/, 'must be letters, digits, - or _'),
  allowed_roles: z.array(z.string()).min(1, 'list the roles allowed to use this connection, or ["*"]'),
  username: z.string().min(1),
  password: z.string().min(1),
  verify_connection: z.boolean().default(true),
};

export const connectionSchema = z.discriminatedUnion(
  'plugin',
  [
    z.strictObject({
      plugin: z.literal('postgresql'),
      ...common,
      connection_url: templated.refine((u) => /^postgres(ql)?:\/\//.test(u), 'must start with postgresql://'),
      max_open_connections: z.number().int().min(1).optional(),
    }),
    z.strictObject({
      plugin: z.literal('mysql'),
      ...common,
      /** Go MySQL DSN: {{username}}:{{password}}@tcp(host:port)/ */
      connection_url: templated.refine(
        (u) => /@tcp\([^)]+\)\//.test(u),
        'must look like {{username}}:{{password}}@tcp(host:3306)/',
      ),
      max_open_connections: z.number().int().min(1).optional(),
    }),
    z.strictObject({
      plugin: z.literal('cassandra'),
      ...common,
      hosts: z.array(z.string().min(1)).min(1, 'list at least one Cassandra host'),
      port: z.number().int().min(1).max(65535).default(9042),
      protocol_version: z.number().int().min(2).max(5).default(4),
      tls: z.boolean().default(false),
      consistency: z.enum(['ONE', 'QUORUM', 'LOCAL_QUORUM', 'ALL']).default('LOCAL_QUORUM'),
    }),
    z.strictObject({
      plugin: z.literal('mongodb'),
      ...common,
      connection_url: templated.refine(
        (u) => /^mongodb(\+srv)?:\/\//.test(u),
        'must start with mongodb:// or mongodb+srv://',
      ),
      write_concern: z.string().optional(),
    }),
  ],
  { error: 'plugin must be one of: postgresql, mysql, cassandra, mongodb' },
);
export type DatabaseConnection = z.input<typeof connectionSchema>;

const PLUGIN_NAME = {
  postgresql: 'postgresql-database-plugin',
  mysql: 'mysql-database-plugin',
  cassandra: 'cassandra-database-plugin',
  mongodb: 'mongodb-database-plugin',
} as const;

/** The body Vault's config endpoint takes, from a validated connection. */
export function connectionBody(connection: DatabaseConnection): {
  name: string;
  body: Record<string, unknown>;
} {
  const c = connectionSchema.parse(connection);
  const { name, plugin, allowed_roles, ...rest } = c;
  const body: Record<string, unknown> = {
    ...rest,
    plugin_name: PLUGIN_NAME[plugin],
    allowed_roles: allowed_roles.join(','),
  };
  if (c.plugin === 'cassandra') body.hosts = c.hosts.join(',');
  return { name, body };
}

export async function configureConnection(
  vault: VaultClient,
  mount: string,
  connection: DatabaseConnection,
): Promise<void> {
  const { name, body } = connectionBody(connection);
  await vault.put(vaultPath`${mount}/config/${segment(name)}`, body);
}

/**
 * Rotates the password Vault uses for the connection's own user; afterwards only Vault knows it.
 * Sent again after a lost reply, it rotates once more: still "Vault holds a fresh root password".
 */
export async function rotateRoot(vault: VaultClient, mount: string, connection: string): Promise<void> {
  await vault.put(vaultPath`${mount}/rotate-root/${segment(connection)}`, {});
}

const connectionReadSchema = z.object({
  data: z.object({
    plugin_name: z.string(),
    connection_details: z.looseObject({
      connection_url: z.string().optional(),
      username: z.string().optional(),
    }),
    allowed_roles: z.array(z.string()).nullish(),
    /** Reported by HashiCorp Vault only; OpenBao always verifies. */
    verify_connection: z.boolean().optional(),
  }),
});

/** A connection as Vault reports it (never with its password, which Vault does not return). */
export interface ConnectionInfo {
  pluginName: string;
  connectionUrl: string | undefined;
  username: string | undefined;
  allowedRoles: string[];
  verifyConnection: boolean | undefined;
}

export async function readConnection(
  vault: VaultClient,
  mount: string,
  connection: string,
): Promise<ConnectionInfo> {
  const where = vaultPath`${mount}/config/${segment(connection)}`;
  const { data } = parseResponse(connectionReadSchema, await vault.read(where), where);
  return {
    pluginName: data.plugin_name,
    connectionUrl: data.connection_details.connection_url,
    username: data.connection_details.username,
    allowedRoles: data.allowed_roles ?? [],
    verifyConnection: data.verify_connection,
  };
}

/**
 * Closes the connection and opens it again from its stored configuration (with its verification,
 * a login with the stored root credential, unless the connection was configured not to verify).
 */
export async function resetConnection(vault: VaultClient, mount: string, connection: string): Promise<void> {
  await vault.put(vaultPath`${mount}/reset/${segment(connection)}`, {});
}

export interface DynamicRole {
  db: string;
  creationStatements: string[];
  revocationStatements?: string[];
  defaultTtl: string;
  maxTtl: string;
}

export async function writeDynamicRole(
  vault: VaultClient,
  mount: string,
  name: string,
  role: DynamicRole,
): Promise<void> {
  await vault.put(vaultPath`${mount}/roles/${segment(name)}`, {
    db_name: role.db,
    creation_statements: role.creationStatements,
    ...(role.revocationStatements ? { revocation_statements: role.revocationStatements } : {}),
    default_ttl: role.defaultTtl,
    max_ttl: role.maxTtl,
  });
}

export interface StaticRole {
  db: string;
  username: string;
  rotationPeriod: string;
  rotationStatements?: string[];
}

export async function writeStaticRole(
  vault: VaultClient,
  mount: string,
  name: string,
  role: StaticRole,
): Promise<void> {
  await vault.put(vaultPath`${mount}/static-roles/${segment(name)}`, {
    db_name: role.db,
    username: role.username,
    rotation_period: role.rotationPeriod,
    ...(role.rotationStatements ? { rotation_statements: role.rotationStatements } : {}),
  });
}

const dynamicRoleSchema = z.object({ data: z.object({ db_name: z.string() }) });

/** Which connection a dynamic role creates its users on. */
export async function readDynamicRole(vault: VaultClient, mount: string, name: string) {
  const where = vaultPath`${mount}/roles/${segment(name)}`;
  const { data } = parseResponse(dynamicRoleSchema, await vault.read(where), where);
  return { db: data.db_name };
}

const dynamicCredsSchema = z.object({
  lease_id: z.string().min(1),
  lease_duration: z.number(),
  renewable: z.boolean(),
  data: z.object({ username: z.string(), password: z.string() }),
});

/** Credentials and the lease behind them. The password is for the caller to hand on, not to keep. */
export interface DynamicCredentials {
  leaseId: string;
  leaseSeconds: number;
  renewable: boolean;
  username: string;
  password: string;
}

export async function dynamicCredentials(
  vault: VaultClient,
  mount: string,
  role: string,
): Promise<DynamicCredentials> {
  const where = vaultPath`${mount}/creds/${segment(role)}`;
  const c = parseResponse(dynamicCredsSchema, await vault.read(where), where);
  return {
    leaseId: c.lease_id,
    leaseSeconds: c.lease_duration,
    renewable: c.renewable,
    username: c.data.username,
    password: c.data.password,
  };
}

const staticCredsSchema = z.object({
  data: z.object({
    username: z.string(),
    password: z.string(),
    last_vault_rotation: z.string(),
    rotation_period: z.number(),
    ttl: z.number(),
  }),
});

export async function staticCredentials(vault: VaultClient, mount: string, role: string) {
  const where = vaultPath`${mount}/static-creds/${segment(role)}`;
  const { data } = parseResponse(staticCredsSchema, await vault.read(where), where);
  return {
    username: data.username,
    password: data.password,
    lastRotation: data.last_vault_rotation,
    rotationPeriodSeconds: data.rotation_period,
    ttlSeconds: data.ttl,
  };
}

/** Sent again after a lost reply it rotates once more, which is what the caller asked for. */
export async function rotateStaticRole(vault: VaultClient, mount: string, role: string): Promise<void> {
  await vault.put(vaultPath`${mount}/rotate-role/${segment(role)}`, {});
}

const staticRoleSchema = z.object({
  data: z.object({
    db_name: z.string(),
    username: z.string(),
    last_vault_rotation: z.string().optional(),
    rotation_period: z.number().optional(),
  }),
});

/** A static role's configuration (no password: that is at static-creds). */
export async function readStaticRole(vault: VaultClient, mount: string, role: string) {
  const where = vaultPath`${mount}/static-roles/${segment(role)}`;
  const { data } = parseResponse(staticRoleSchema, await vault.read(where), where);
  return { db: data.db_name, username: data.username, lastRotation: data.last_vault_rotation };
}

const leaseSchema = z.object({ lease_id: z.string(), lease_duration: z.number(), renewable: z.boolean() });

export async function renewLease(vault: VaultClient, leaseId: string, incrementSeconds?: number) {
  const body = await vault.put('sys/leases/renew', {
    lease_id: leaseId,
    ...(incrementSeconds === undefined ? {} : { increment: incrementSeconds }),
  });
  const lease = parseResponse(leaseSchema, body, 'sys/leases/renew');
  return { leaseId: lease.lease_id, leaseSeconds: lease.lease_duration, renewable: lease.renewable };
}

export async function revokeLease(vault: VaultClient, leaseId: string): Promise<void> {
  await vault.put('sys/leases/revoke', { lease_id: leaseId });
}
