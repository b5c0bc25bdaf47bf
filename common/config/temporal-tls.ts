// The TLS options of a Temporal connection, from the `temporal.tls` settings. One place for the
// worker's connection and the CLI's; it loads only node:fs, so the CLI stays light.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';
import type { TemporalConfig } from './schema.js';

export function temporalTls(config: TemporalConfig): ConnectionOptions['tls'] {
  const tls = config.tls;
  if (!tls) return undefined;
  return {
    ...(tls.server_name ? { serverNameOverride: tls.server_name } : {}),
    ...(tls.ca_cert ? { serverRootCACertificate: readFileSync(tls.ca_cert) } : {}),
    ...(tls.client_cert && tls.client_key
      ? { clientCertPair: { crt: readFileSync(tls.client_cert), key: readFileSync(tls.client_key) } }
      : {}),
  };
}
