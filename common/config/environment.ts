// The environment's part in the configuration: ${VARS} expanded in the file's strings, and the
// VAULT_*, TEMPORAL_* and VAULTOPS_* variables Vault and Temporal users already set, laid over it.

export type Env = Record<string, string | undefined>;

/** Replaces ${VAR} in every string of the document; a missing variable is a problem at that field. */
export function expandEnv(value: unknown, env: Env, path: string, problems: string[]): unknown {
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
export function overlayEnv(doc: Record<string, unknown>, env: Env): Record<string, unknown> {
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
