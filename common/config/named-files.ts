// The files the configuration names (TLS certificates and keys, the HSM module and PIN file),
// checked readable when it is loaded, so a wrong path is reported with its field now rather than
// as ENOENT at the first connection. The check is injectable, for tests.
import { closeSync, openSync, statSync } from 'node:fs';
import type { VaultopsConfig } from './schema.js';

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
