// Certificates issued through Vault PKI: their inventory (`list`) and what endpoints serve (`discover`).
import { type Print, type Program, repeat, seconds } from '../cli-options.js';

export function registerCert(program: Program, out: Print): void {
  const cert = program.command('cert').description('certificates: issue, renew, revoke, list, discover');

  // One certificateWorkflow per certificate: policy before issuance, key made on the worker and
  // written 0600, renewed at 2/3 of its life (or --renew-before), revoked with CRL and OCSP proof.
  cert
    .command('issue')
    .description('issue a certificate through a role, deploy it on the worker, keep it renewed')
    .requiredOption('--mount <mount>', 'the PKI mount, e.g. pki_int')
    .requiredOption('--role <role>', 'the role to issue through')
    .requiredOption('--cn <name>', 'the common name, e.g. www.example.com')
    .option('--alt-name <name>', 'a DNS name to add (repeatable)', repeat)
    .option('--ip-san <ip>', 'an IP address to add (repeatable)', repeat)
    .option('--ttl <duration>', "how long it is valid, e.g. 720h (default: the role's)")
    .option('--key-type <type>', 'ec, rsa or ed25519, when the role allows any (default ec)')
    .option('--key-bits <bits>', 'with --key-type, e.g. 384 or 3072')
    .requiredOption('--cert-file <path>', 'where the certificate goes on the worker')
    .option('--key-file <path>', 'where the private key goes on the worker (mode 0600); not with --csr')
    .option('--chain-file <path>', 'where the issuing CA chain goes')
    .option(
      '--reload-cmd <command>',
      'run after each deploy, e.g. "systemctl reload nginx" (a failure is reported)',
    )
    .option('--renew-before <duration>', 'renew this long before expiry (default: at 2/3 of the lifetime)')
    .option('--policy <file>', 'a certificate policy (YAML/JSON) checked before any request reaches Vault')
    .option('--csr <file>', 'sign this CSR instead: the key stays with you')
    .option('--once', 'issue, deploy and record, then end (no renewals)')
    .option('--cluster <name>', 'configured Vault cluster (default: "default")')
    .option('--timeout <seconds>', 'how long to wait for the first certificate', seconds, 300)
    .action(async (opts, cmd) => {
      const { certIssueCommand } = await import('./cert.js');
      await certIssueCommand({ ...cmd.optsWithGlobals(), ...opts }, out);
    });

  cert
    .command('renew')
    .description('renew a certificate now; prints the new serial')
    .argument('<workflow-id>', 'the certificate workflow, e.g. cert:default:pki_int:www.example.com')
    .action(async (workflowId, _opts, cmd) => {
      const { certRenewCommand } = await import('./cert.js');
      await certRenewCommand(workflowId, cmd.optsWithGlobals(), out);
    });

  cert
    .command('revoke')
    .description('revoke a certificate, check the CRL and OCSP say so, and end its workflow')
    .argument('<workflow-id>', 'the certificate workflow')
    .option('--remove-files', 'also remove the deployed certificate, key and chain files')
    .action(async (workflowId, opts, cmd) => {
      const { certRevokeCommand } = await import('./cert.js');
      await certRevokeCommand(workflowId, { ...cmd.optsWithGlobals(), ...opts }, out);
    });

  cert
    .command('list')
    .description('the certificate inventory, read with VAULT_ADDR/VAULT_TOKEN')
    .option('--format <format>', 'table (default), json or csv')
    .option('--mount <mount>', 'only certificates issued by this PKI mount, e.g. pki_int')
    .option('--expiring-within <duration>', 'only those expiring within this long (or expired), e.g. 30d')
    .option('--store <mount/path>', 'the inventory in KV v2 (default secret/vaultops/cert-inventory)')
    .action(async (opts) => {
      const { certListCommand } = await import('./list.js');
      await certListCommand(opts, out);
    });

  cert
    .command('discover')
    .description(
      'the certificate each endpoint serves, and whether it is in the inventory; exit 1 if any endpoint is ' +
        'unreachable or serves a certificate that is expired, or that the inventory says is revoked or renewed since',
    )
    .argument('<host:port...>', 'TLS endpoints, e.g. example.com:443 10.0.0.5:8443 [2001:db8::1]:443')
    .option('--format <format>', 'table (default) or json')
    .option('--servername <name>', 'the SNI name to send (default: the host, unless it is an IP address)')
    .option('--timeout <duration>', 'per endpoint, e.g. 5s (default)')
    .option('--store <mount/path>', 'the inventory in KV v2 (default secret/vaultops/cert-inventory)')
    .action(async (endpoints, opts) => {
      const { certDiscoverCommand } = await import('./discover.js');
      await certDiscoverCommand(endpoints, opts, out);
    });
}
