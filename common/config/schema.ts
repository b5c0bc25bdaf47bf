// The shape of the vaultops configuration file, as zod validates it: each message says what to
// write instead.
import { z } from 'zod';
import { parseDuration } from '../durations.js';
import { authentication } from './auth-schema.js';

const duration = (example: string) =>
  z
    .string()
    .refine((s) => parseDuration(s) !== undefined, {
      message: `must be a duration such as "${example}" (units: ms, s, m, h, d)`,
    })
    .transform((s) => parseDuration(s) as number);

const url = z
  .string({ error: 'must be a URL such as "https://vault.example.com:8200"' })
  .refine((s) => /^https?:\/\/[^/\s]+/.test(s), {
    message: 'must be an http:// or https:// URL such as "https://vault.example.com:8200"',
  })
  .transform((s) => s.replace(/\/+$/, ''));

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
