// The CA: a root key in the HSM, intermediates bootstrapped from a spec and rotated with zero downtime.
import { type Print, type Program, repeat } from '../cli-options.js';

export function registerCa(program: Program, out: Print): void {
  const ca = program
    .command('ca')
    .description(
      'the CA: a root key in the HSM, the intermediate bootstrapped from a spec, rotated with zero downtime',
    );

  ca.command('init-root')
    .description(
      "make (or adopt) the root key in the worker's HSM and a self-signed root certificate, kept in KV",
    )
    .requiredOption('--label <label>', 'the key label on the token, e.g. vaultops-root-r1')
    .requiredOption('--subject <dn>', 'the root\'s name, e.g. "CN=Example Root CA R1, O=Example"')
    .option('--key-type <type>', 'ec-p384 (default), ec-p256, rsa-4096 or rsa-2048')
    .option('--ttl <duration>', 'how long the root is valid (default 3650d)')
    .option('--adopt', 'use the key already on the token under --label; never make one')
    .option(
      '--store <mount/path>',
      'the KV v2 secret that keeps the certificate (default secret/vaultops/ca/root)',
    )
    .option('--out <file>', 'also write the certificate (public) here, read with VAULT_ADDR/VAULT_TOKEN')
    .option('--cluster <name>', 'configured Vault cluster (default: "default")')
    .action(async (opts, cmd) => {
      const { caInitRootCommand } = await import('./ca.js');
      await caInitRootCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
    });

  ca.command('bootstrap')
    .description(
      'an intermediate CA from a spec file: key and CSR in Vault, signed by the HSM root after approval, roles',
    )
    .requiredOption(
      '--spec <file>',
      'the CA spec (YAML): mount, common_name, issuer_name, ttl, base_url, roles, approval',
    )
    .option('--as <name>', 'who asks (the requester; may reject, never approve)')
    .option('--cluster <name>', 'configured Vault cluster (default: "default")')
    .action(async (opts, cmd) => {
      const { caBootstrapCommand } = await import('./ca.js');
      await caBootstrapCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
    });

  // Zero-downtime intermediate rotation: a new issuer beside the default, trusted before it is used,
  // the old one retired after the grace period. The roles' longest leaf TTL bounds the grace.
  ca.command('rotate')
    .description(
      "rotate a mount's intermediate: new issuer signed by the HSM root after approval, default switched, old retired",
    )
    .requiredOption('--mount <path>', 'the intermediate PKI mount, e.g. pki_int')
    .requiredOption('--issuer-name <name>', 'the new issuer, e.g. int-2027 (its key: <name>-key)')
    .requiredOption('--common-name <cn>', 'the new intermediate\'s name, e.g. "Example Intermediate CA 2027"')
    .requiredOption('--base-url <url>', 'where clients reach Vault, for AIA/CRL/OCSP URLs')
    .option('--key-type <type>', "ec (default) or rsa: may differ from the old issuer's")
    .option('--key-bits <bits>', 'ec 256 (default)/384/521; rsa 2048 (default)/3072/4096')
    .option('--ttl <duration>', 'how long the new intermediate is valid (default 1825d)')
    .option('--root <mount/path>', 'the KV v2 secret of the root (default secret/vaultops/ca/root)')
    .option(
      '--new-root <mount/path>',
      'root rotation: a new root (from ca init-root) signs; the old cross-signs; the old retires after the grace',
    )
    .option(
      '--grace <duration>',
      "both issuers trusted this long (default and minimum: the roles' longest leaf TTL)",
    )
    .option('--crl-signing <duration>', 'then the old issuer signs only CRLs/OCSP this long (default 7d)')
    .option('--approver <name>', "who may approve the root's signature (repeatable)", repeat)
    .option('--quorum <n>', 'how many approvers must approve (default 1)')
    .option('--approval-timeout <duration>', 'how long the approvers have (default 24h)')
    .option(
      '--roles-follow <role>',
      'a role whose issuer and key type move to the new issuer (repeatable)',
      repeat,
    )
    .option('--keep-old-issuer', 'keep the old issuer read-only instead of deleting it after it expires')
    .option('--as <name>', 'who asks (the requester; may reject, never approve)')
    .option('--cluster <name>', 'configured Vault cluster (default: "default")')
    .action(async (opts, cmd) => {
      const { caRotateCommand } = await import('./rotate.js');
      await caRotateCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
    });
}
