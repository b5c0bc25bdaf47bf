// The vaultops configuration: a YAML file shaped like seed 003's "Vault Configuration" example,
// overlaid by the environment variables Vault and Temporal users already set. Callers read the
// file; this module parses, expands ${VARS}, validates and explains what to fix. The one thing it
// looks at on disk is whether the TLS files it names can be read (injectable, for tests), so a
// wrong path is reported with its field now rather than as ENOENT at the first connection.
import { closeSync, openSync, statSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../durations.js';

const duration = (example: string) =>
  z
    .string()
    .refine((s) => parseDuration(s) !== undefined, {
      message: `must be a duration such as "${example}" (units: ms, s, m, h, d)`,
    })
    .transform((s) => parseDuration(s) as number);

const nonEmpty = (what: string) =>
  z.string({ error: `must be ${what}` }).min(1, `must be ${what}, not empty`);

const url = z
  .string({ error: 'must be a URL such as "https://vault.example.com:8200"' })
  .refine((s) => /^https?:\/\/[^/\s]+/.test(s), {
    message: 'must be an http:// or https:// URL such as "https://vault.example.com:8200"',
  })
  .transform((s) => s.replace(/\/+$/, ''));

const mountPath = (name: string) => z.string().min(1).default(name);

const tokenAuth = z.strictObject({
  method: z.literal('token'),
  token: nonEmpty('a Vault token (or "${VAULT_TOKEN}")'),
});

const appRoleAuth = z.strictObject({
  method: z.literal('approle'),
  role_id: nonEmpty('the AppRole role_id (or "${VAULT_ROLE_ID}")'),
  secret_id: nonEmpty('the AppRole secret_id (or "${VAULT_SECRET_ID}")'),
  mount_path: mountPath('approle'),
});

const jwtAuth = z
  .strictObject({
    method: z.literal('jwt'),
    role: nonEmpty('the JWT/OIDC role to log in as'),
    /** The token itself, or a file to read it from at each login (it may be rotated). */
    jwt: z.string().min(1).optional(),
    jwt_file: z.string().min(1).optional(),
    mount_path: mountPath('jwt'),
  })
  .refine((a) => (a.jwt === undefined) !== (a.jwt_file === undefined), {
    message: 'give exactly one of jwt or jwt_file',
  });

const certAuth = z.strictObject({
  method: z.literal('cert'),
  /** The cert role to match; the certificate itself is tls.client_cert/client_key. */
  name: z.string().optional(),
  mount_path: mountPath('cert'),
});

const userpassAuth = z.strictObject({
  method: z.literal('userpass'),
  username: nonEmpty('the userpass username'),
  password: nonEmpty('the password (or "${VAULT_PASSWORD}")'),
  mount_path: mountPath('userpass'),
});

const ldapAuth = z.strictObject({
  method: z.literal('ldap'),
  username: nonEmpty('the LDAP username'),
  password: nonEmpty('the LDAP password (or "${LDAP_PASSWORD}")'),
  mount_path: mountPath('ldap'),
});

const kubernetesAuth = z.strictObject({
  method: z.literal('kubernetes'),
  role: nonEmpty('the Kubernetes auth role'),
  jwt_file: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
  mount_path: mountPath('kubernetes'),
});

const authMethod = z.discriminatedUnion(
  'method',
  [tokenAuth, appRoleAuth, jwtAuth, certAuth, userpassAuth, ldapAuth, kubernetesAuth],
  { error: 'method must be one of: token, approle, jwt, cert, userpass, ldap, kubernetes' },
);

/** One method, or several tried in order: the next one is used when one fails. */
const authentication = z.preprocess(
  (a) => (Array.isArray(a) ? a : [a]),
  z.array(authMethod).min(1, 'list at least one auth method'),
);

/**
 * A client certificate is useless without its key and the other way round: ask for the pair.
 * `env` names the variables that can give them (none for a named cluster: VAULT_* is the default's).
 */
function certKeyPair(
  tls: { client_cert?: string | undefined; client_key?: string | undefined },
  ctx: z.core.$RefinementCtx,
  env: { cert: string; key: string } | undefined,
): void {
  if (tls.client_cert !== undefined && tls.client_key === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['client_key'],
      message: `is required with client_cert: give the client certificate's private key too${env ? ` (or ${env.key})` : ''}, or remove client_cert`,
    });
  }
  if (tls.client_key !== undefined && tls.client_cert === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['client_cert'],
      message: `is required with client_key: give the client certificate too${env ? ` (or ${env.cert})` : ''}, or remove client_key`,
    });
  }
}

const VAULT_TLS_ENV = { cert: 'VAULT_CLIENT_CERT', key: 'VAULT_CLIENT_KEY' };

const vaultTls = (fromEnv: boolean) =>
  z
    .strictObject({
      ca_cert: z.string().min(1).optional(),
      client_cert: z.string().min(1).optional(),
      client_key: z.string().min(1).optional(),
      tls_server_name: z.string().optional(),
      skip_verify: z.boolean().default(false),
    })
    .superRefine((tls, ctx) => certKeyPair(tls, ctx, fromEnv ? VAULT_TLS_ENV : undefined));

const engines = z.strictObject({
  pki: z
    .strictObject({
      mount_path: z.string().default('pki'),
      roles: z.record(z.string(), z.string()).default({}),
      ttl: z.string().optional(),
    })
    .optional(),
  kv: z
    .strictObject({
      mount_path: z.string().default('secret'),
      version: z.literal(2, { error: 'only KV version 2 is supported; set version: 2' }).default(2),
    })
    .optional(),
  transit: z
    .strictObject({
      mount_path: z.string().default('transit'),
      key_name: z.string().optional(),
    })
    .optional(),
  database: z.strictObject({ mount_path: z.string().default('database') }).optional(),
});

const performance = z.strictObject({
  max_retries: z.number().int().min(0).max(20).default(3),
  retry_wait_min: duration('1s').default(1000),
  retry_wait_max: duration('30s').default(30_000),
  /** Optional time budget for retries, e.g. long enough to ride out a leader election. */
  retry_max_elapsed: duration('30s').optional(),
  connection_timeout: duration('30s').default(30_000),
  max_idle_connections: z.number().int().min(1).default(10),
  /** Failures in a row that open a node's circuit breaker (the node is skipped while open). */
  breaker_failure_threshold: z
    .number({ error: 'must be a whole number of failures such as 3' })
    .int('must be a whole number of failures such as 3')
    .min(1, 'must be at least 1 (the failures in a row that open the breaker)')
    .default(3),
  /** How long an open breaker skips its node before letting one request try it again. */
  breaker_open_duration: duration('5s').default(5000),
});

const caching = z.strictObject({
  enable: z.boolean().default(true),
  ttl: duration('5m').default(300_000),
  max_entries: z.number().int().min(1).default(10_000),
});

/**
 * One Vault cluster: `vault_integration` (the cluster named "default", which the VAULT_*
 * environment overlays) or an entry of `vault_clusters` (`fromEnv` false: messages then name no
 * VAULT_* variable, since the environment does not reach it).
 */
const vaultCluster = (fromEnv: boolean) =>
  z
    .strictObject({
      address: url,
      /** The other nodes of an HA cluster; the client finds the leader and fails over among all. */
      ha_addresses: z.array(url).default([]),
      namespace: z.string().optional(),
      authentication: authentication.optional(),
      tls: vaultTls(fromEnv).default({ skip_verify: false }),
      engines: engines.default({}),
      performance: performance.default({
        max_retries: 3,
        retry_wait_min: 1000,
        retry_wait_max: 30_000,
        connection_timeout: 30_000,
        max_idle_connections: 10,
        breaker_failure_threshold: 3,
        breaker_open_duration: 5000,
      }),
      caching: caching.default({ enable: true, ttl: 300_000, max_entries: 10_000 }),
    })
    .superRefine((vault, ctx) => {
      const cert = vault.authentication?.some((a) => a.method === 'cert');
      if (cert && vault.tls.client_cert === undefined && vault.tls.client_key === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['tls', 'client_cert'],
          message: `is required by the cert auth method, which logs in with tls.client_cert and tls.client_key${fromEnv ? ' (or VAULT_CLIENT_CERT and VAULT_CLIENT_KEY)' : ''}`,
        });
      }
    });

const vaultIntegration = vaultCluster(true);

/** The name of the cluster `vault_integration` describes; activities default to it. */
export const DEFAULT_CLUSTER = 'default';

const clusterName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]*$/,
    'is not a valid cluster name: use lowercase letters, digits and "-", starting with a letter or digit, such as "dr-standby"',
  )
  .refine((name) => name !== DEFAULT_CLUSTER, {
    message:
      'is defined twice: the cluster named "default" is vault_integration; put its settings there, or give this cluster another name',
  });

/** Further clusters by name (a DR primary and standby, a migration's source and target). */
const vaultClusters = z.record(clusterName, vaultCluster(false), {
  error:
    'must be a mapping of cluster name to settings shaped like vault_integration, such as "dr-standby: { address: ... }"',
});

const temporalTls = z
  .strictObject({
    ca_cert: z.string().min(1).optional(),
    client_cert: z.string().min(1).optional(),
    client_key: z.string().min(1).optional(),
    server_name: z.string().optional(),
  })
  .superRefine((tls, ctx) => certKeyPair(tls, ctx, { cert: 'TEMPORAL_TLS_CERT', key: 'TEMPORAL_TLS_KEY' }));

const temporal = z.strictObject({
  address: z
    .string()
    .regex(/^[^\s:/]+:\d+$/, 'must be host:port, such as "127.0.0.1:7233"')
    .default('127.0.0.1:7233'),
  namespace: z.string().min(1).default('default'),
  task_queue: z.string().min(1).default('vaultops'),
  tls: temporalTls.optional(),
});

/**
 * Payload encryption: a local key file (`key_file`), or data keys wrapped by Vault transit whose
 * wrapped form lives in `wrapped_keys_file` (the worker creates either file on first start).
 */
const codec = z
  .strictObject({
    key_file: z.string().min(1, 'must be a path, not empty').optional(),
    transit_mount: z.string().min(1, 'must be a mount path such as "transit"').optional(),
    transit_key: z.string().min(1, 'must be a transit key name such as "vaultops-codec"').optional(),
    wrapped_keys_file: z.string().min(1, 'must be a path, not empty').optional(),
  })
  .superRefine((c, ctx) => {
    const transit =
      c.transit_key !== undefined || c.transit_mount !== undefined || c.wrapped_keys_file !== undefined;
    if (c.key_file !== undefined && transit) {
      ctx.addIssue({
        code: 'custom',
        path: ['key_file'],
        message:
          'give either key_file (a local key file) or transit_key with wrapped_keys_file (keys wrapped by Vault transit), not both',
      });
    } else if (c.key_file === undefined && !transit) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'give key_file: <path>, or transit_key: "vaultops-codec" with wrapped_keys_file: <path>',
      });
    } else if (transit) {
      for (const field of ['transit_key', 'wrapped_keys_file'] as const) {
        if (c[field] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message:
              field === 'transit_key'
                ? 'is required with Vault transit keys: name the transit key that wraps the data keys, e.g. "vaultops-codec"'
                : 'is required with Vault transit keys: the file that stores the wrapped data keys, e.g. "/var/lib/vaultops/codec-keys.wrapped.json"',
          });
        }
      }
    }
  })
  .transform((c) =>
    c.key_file !== undefined
      ? { kind: 'key_file' as const, key_file: c.key_file }
      : {
          kind: 'transit' as const,
          transit_mount: c.transit_mount ?? 'transit',
          transit_key: c.transit_key as string,
          wrapped_keys_file: c.wrapped_keys_file as string,
        },
  );

/**
 * The PKCS#11 token that holds CA root keys: any vendor's module, the token by label or slot, and
 * the user PIN from an environment variable or a file (never written in the configuration).
 */
const hsm = z
  .strictObject({
    module: z
      .string()
      .min(1, 'must be the path of a PKCS#11 library, such as "/usr/lib/softhsm/libsofthsm2.so"'),
    token_label: z.string().min(1, 'must be the token label, not empty').optional(),
    slot: z.number().int().min(0, 'must be a slot number (0 or more)').optional(),
    pin_env: z
      .string()
      .regex(
        /^[A-Za-z_][A-Za-z0-9_]*$/,
        'must be the name of an environment variable, such as "VAULTOPS_HSM_PIN"',
      )
      .optional(),
    pin_file: z.string().min(1, 'must be a path, not empty').optional(),
  })
  .superRefine((h, ctx) => {
    if ((h.token_label === undefined) === (h.slot === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['token_label'],
        message:
          "give either token_label (the token's label, as softhsm2-util --show-slots prints it) or slot, exactly one",
      });
    }
    if (h.pin_env !== undefined && h.pin_file !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['pin_env'],
        message: 'give either pin_env or pin_file, not both',
      });
    }
  })
  .transform((h) => ({
    module: h.module,
    token: h.token_label !== undefined ? { label: h.token_label } : { slot: h.slot as number },
    pin: h.pin_file !== undefined ? { file: h.pin_file } : { env: h.pin_env ?? 'VAULTOPS_HSM_PIN' },
  }));

export const configFileSchema = z.strictObject({
  vault_integration: vaultIntegration,
  vault_clusters: vaultClusters.optional(),
  temporal: temporal.default({ address: '127.0.0.1:7233', namespace: 'default', task_queue: 'vaultops' }),
  codec: codec.optional(),
  hsm: hsm.optional(),
});

export type VaultopsConfig = z.output<typeof configFileSchema>;
export type VaultAuthConfig = z.output<typeof authMethod>;
export type VaultAuthChain = z.output<typeof authentication>;
export type VaultIntegrationConfig = VaultopsConfig['vault_integration'];
export type TemporalConfig = VaultopsConfig['temporal'];
export type CodecConfig = NonNullable<VaultopsConfig['codec']>;
export type HsmTokenConfig = NonNullable<VaultopsConfig['hsm']>;

/** Every configured Vault cluster by name: "default" (vault_integration) first, then vault_clusters. */
export function vaultClusterConfigs(config: VaultopsConfig): Map<string, VaultIntegrationConfig> {
  return new Map([
    [DEFAULT_CLUSTER, config.vault_integration],
    ...Object.entries(config.vault_clusters ?? {}),
  ]);
}

/** A configuration problem, already phrased for the person who has to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Replaces ${VAR} in every string of the document; a missing variable is a problem at that field. */
function expandEnv(value: unknown, env: Env, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') {
        problems.push(`${path}: refers to \${${name}}, which is not set; export ${name} or write the value`);
        return whole;
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, `${path}[${i}]`, problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, path ? `${path}.${k}` : k, problems)]),
    );
  }
  return value;
}

/**
 * Environment overrides. Where to connect and how (address, namespace, TLS) comes from the
 * environment when it is set, as VAULT_ADDR overrides Vault Agent's file. Who to be does not:
 * VAULT_TOKEN is used only when the file names no authentication, because a shell's VAULT_TOKEN is
 * often a person's own token from `vault login`, and a worker must not silently swap its AppRole
 * identity for it. A file that wants the environment's token says so: token: "${VAULT_TOKEN}".
 */
function overlayEnv(doc: Record<string, unknown>, env: Env): Record<string, unknown> {
  const vault = { ...((doc.vault_integration as Record<string, unknown>) ?? {}) };
  const tls = { ...((vault.tls as Record<string, unknown>) ?? {}) };
  const temporalDoc = { ...((doc.temporal as Record<string, unknown>) ?? {}) };
  const temporalTlsDoc = { ...((temporalDoc.tls as Record<string, unknown>) ?? {}) };

  if (env.VAULT_ADDR) {
    // The file's other HA nodes belong to the file's cluster: kept only when VAULT_ADDR is one of
    // that cluster's nodes, not mixed into another cluster's.
    const fileNodes = [vault.address, ...(Array.isArray(vault.ha_addresses) ? vault.ha_addresses : [])]
      .filter((a): a is string => typeof a === 'string')
      .map(sameNode);
    if (vault.ha_addresses !== undefined && !fileNodes.includes(sameNode(env.VAULT_ADDR))) {
      delete vault.ha_addresses;
    } else if (Array.isArray(vault.ha_addresses) && typeof vault.address === 'string') {
      // The file's address becomes one of the other nodes; VAULT_ADDR is the first one tried.
      vault.ha_addresses = [vault.address, ...vault.ha_addresses].filter(
        (a) => typeof a !== 'string' || sameNode(a) !== sameNode(env.VAULT_ADDR as string),
      );
    }
    vault.address = env.VAULT_ADDR;
  }
  if (env.VAULT_NAMESPACE) vault.namespace = env.VAULT_NAMESPACE;
  if (env.VAULT_TOKEN && vault.authentication === undefined) {
    vault.authentication = [{ method: 'token', token: env.VAULT_TOKEN }];
  }
  if (env.VAULT_CACERT) tls.ca_cert = env.VAULT_CACERT;
  overlayPair(tls, env.VAULT_CLIENT_CERT, env.VAULT_CLIENT_KEY);
  if (env.VAULT_TLS_SERVER_NAME) tls.tls_server_name = env.VAULT_TLS_SERVER_NAME;
  if (env.VAULT_SKIP_VERIFY) tls.skip_verify = !['', '0', 'false'].includes(env.VAULT_SKIP_VERIFY);
  if (Object.keys(tls).length > 0) vault.tls = tls;

  if (env.TEMPORAL_ADDRESS) temporalDoc.address = env.TEMPORAL_ADDRESS;
  if (env.TEMPORAL_NAMESPACE) temporalDoc.namespace = env.TEMPORAL_NAMESPACE;
  if (env.VAULTOPS_TASK_QUEUE) temporalDoc.task_queue = env.VAULTOPS_TASK_QUEUE;
  if (env.TEMPORAL_TLS_CA) temporalTlsDoc.ca_cert = env.TEMPORAL_TLS_CA;
  overlayPair(temporalTlsDoc, env.TEMPORAL_TLS_CERT, env.TEMPORAL_TLS_KEY);
  if (env.TEMPORAL_TLS_SERVER_NAME) temporalTlsDoc.server_name = env.TEMPORAL_TLS_SERVER_NAME;
  if (Object.keys(temporalTlsDoc).length > 0) temporalDoc.tls = temporalTlsDoc;

  // The HSM from the environment: the dev stack's token, or a container's injected settings.
  let hsmDoc = doc.hsm as Record<string, unknown> | undefined;
  if (env.VAULTOPS_HSM_MODULE) {
    hsmDoc = { ...(hsmDoc ?? {}), module: env.VAULTOPS_HSM_MODULE };
    if (env.VAULTOPS_HSM_TOKEN_LABEL) {
      delete hsmDoc.slot;
      hsmDoc.token_label = env.VAULTOPS_HSM_TOKEN_LABEL;
    }
  }
  return {
    ...doc,
    vault_integration: vault,
    temporal: temporalDoc,
    ...(hsmDoc ? { hsm: hsmDoc } : {}),
  };
}

const sameNode = (address: string) => address.replace(/\/+$/, '').toLowerCase();

/**
 * A client certificate and its key are one setting: when the environment gives either, the pair
 * comes from the environment, so an env certificate is never matched with the file's key (a
 * half-given pair is then reported as such).
 */
function overlayPair(tls: Record<string, unknown>, cert: string | undefined, key: string | undefined): void {
  if (!cert && !key) return;
  delete tls.client_cert;
  delete tls.client_key;
  if (cert) tls.client_cert = cert;
  if (key) tls.client_key = key;
}

/** An errno code (ENOENT, EACCES, EISDIR...) when the file cannot be read, else undefined. */
export type FileCheck = (path: string) => string | undefined;

/** The real check: open the file for reading (which also answers for root and ACLs) and close it. */
export const readableFile: FileCheck = (path) => {
  try {
    if (statSync(path).isDirectory()) return 'EISDIR';
    closeSync(openSync(path, 'r'));
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EIO';
  }
};

/** The TLS file fields of each section, with the variable that can give each (none for a named cluster). */
function tlsFileFields(
  config: VaultopsConfig,
): { where: string; tls: Record<string, unknown> | undefined; env: Record<string, string> }[] {
  return [
    {
      where: 'vault_integration',
      tls: config.vault_integration.tls,
      env: { ca_cert: 'VAULT_CACERT', client_cert: 'VAULT_CLIENT_CERT', client_key: 'VAULT_CLIENT_KEY' },
    },
    ...Object.entries(config.vault_clusters ?? {}).map(([name, cluster]) => ({
      where: `vault_clusters.${name}`,
      tls: cluster.tls,
      env: {},
    })),
    {
      where: 'temporal',
      tls: config.temporal.tls,
      env: { ca_cert: 'TEMPORAL_TLS_CA', client_cert: 'TEMPORAL_TLS_CERT', client_key: 'TEMPORAL_TLS_KEY' },
    },
  ];
}

/** Problems with the TLS files the configuration names: each with its field and what to do. */
export function checkConfigFiles(config: VaultopsConfig, check: FileCheck = readableFile): string[] {
  const problems: string[] = [];
  for (const [field, path] of [
    ['module', config.hsm?.module],
    ['pin_file', config.hsm && 'file' in config.hsm.pin ? config.hsm.pin.file : undefined],
  ] as const) {
    if (path === undefined) continue;
    const code = check(path);
    if (code === undefined) continue;
    problems.push(
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `hsm.${field}: file "${path}" does not exist; correct the path`
        : code === 'EACCES' || code === 'EPERM'
          ? `hsm.${field}: file "${path}" is not readable by this user; make it readable by the user running vaultops`
          : `hsm.${field}: cannot read "${path}" (${code})`,
    );
  }
  for (const section of tlsFileFields(config)) {
    for (const field of ['ca_cert', 'client_cert', 'client_key']) {
      const path = section.tls?.[field];
      if (typeof path !== 'string') continue;
      const code = check(path);
      if (code === undefined) continue;
      const where = `${section.where}.tls.${field}`;
      const env = section.env[field];
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        problems.push(
          `${where}: file "${path}" does not exist; correct the path${env ? ` (or ${env})` : ''}`,
        );
      } else if (code === 'EISDIR') {
        problems.push(`${where}: "${path}" is a directory; give the PEM file inside it`);
      } else if (code === 'EACCES' || code === 'EPERM') {
        problems.push(
          `${where}: file "${path}" is not readable by this user; make it readable by the user running vaultops`,
        );
      } else {
        problems.push(`${where}: cannot read file "${path}" (${code})`);
      }
    }
  }
  return problems;
}

/** The value the document holds at `path`, to tell a missing field from a mistyped one. */
function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let value = doc;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue, doc: unknown): string {
  // A single method is parsed as a chain of one; report its fields without the list index.
  const auth = issue.path[0] === 'vault_integration' ? 1 : issue.path[0] === 'vault_clusters' ? 2 : undefined;
  const singleAuthMethod =
    auth !== undefined &&
    issue.path[auth] === 'authentication' &&
    issue.path[auth + 1] === 0 &&
    !Array.isArray(valueAt(doc, issue.path.slice(0, auth + 1)));
  const path =
    singleAuthMethod && auth !== undefined
      ? [...issue.path.slice(0, auth + 1), ...issue.path.slice(auth + 2)]
      : issue.path;
  const where = path.length > 0 ? path.join('.') : '(top level)';
  if (issue.code === 'invalid_key') {
    return `${where}: ${issue.issues[0]?.message ?? issue.message}`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove or correct ${issue.keys.length > 1 ? 'them' : 'it'} (see README, "Configuration")`;
  }
  // zod does not report the input, so look it up: only a field that is absent "is required".
  if (issue.code === 'invalid_type' && valueAt(doc, path) === undefined) {
    return `${where}: is required`;
  }
  return `${where}: ${issue.message}`;
}

export interface ParseOptions {
  /** How TLS files are checked; tests pass a stand-in. Default: open them for reading. */
  checkFile?: FileCheck;
}

/**
 * Builds the configuration from an optional YAML text and the environment.
 * Without a file, VAULT_ADDR (default http://127.0.0.1:8200) and friends describe the target.
 */
export function parseConfig(
  yamlText: string | undefined,
  env: Env,
  source = 'configuration',
  options: ParseOptions = {},
): VaultopsConfig {
  let doc: Record<string, unknown> = {};
  if (yamlText !== undefined) {
    let raw: unknown;
    try {
      raw = parseYaml(yamlText);
    } catch (err) {
      const detail = err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err);
      throw new ConfigError(source, [`not valid YAML: ${detail}`]);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError(source, ['must be a YAML mapping with a "vault_integration:" section']);
    }
    const problems: string[] = [];
    doc = expandEnv(raw, env, '', problems) as Record<string, unknown>;
    if (problems.length > 0) throw new ConfigError(source, problems);
  } else {
    doc = { vault_integration: { address: env.VAULT_ADDR ?? 'http://127.0.0.1:8200' } };
  }
  const overlaid = overlayEnv(doc, env);
  const result = configFileSchema.safeParse(overlaid);
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((issue) => describeIssue(issue, overlaid)),
    );
  }
  const fileProblems = checkConfigFiles(result.data, options.checkFile);
  if (fileProblems.length > 0) throw new ConfigError(source, fileProblems);
  return result.data;
}
