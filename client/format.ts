// Human-readable output for the CLI. Reports carry references and facts, never secrets.
import type { PreflightReport } from '../common/preflight/report.js';

export function formatPreflight(r: PreflightReport): string {
  const lines = [
    `Cluster     ${r.cluster && r.cluster !== 'default' ? `${r.cluster}: ` : ''}${r.address}${r.namespace ? ` (namespace ${r.namespace})` : ''}`,
    `Server      ${r.flavour === 'openbao' ? 'OpenBao' : 'HashiCorp Vault'} ${r.health.version} (${r.edition}; ${r.flavourEvidence})`,
    `State       ${r.health.initialized ? 'initialized' : 'NOT initialized'}, ${r.seal.sealed ? `SEALED (${r.seal.progress}/${r.seal.threshold})` : 'unsealed'}, seal ${r.seal.type}, storage ${r.seal.storageType ?? 'unknown'}`,
    `HA          ${r.leader === null ? 'unknown' : r.leader.haEnabled ? `enabled; leader ${r.leader.leaderAddress ?? 'unknown'}${r.leader.isSelf ? ' (this node)' : ''}` : 'disabled'}`,
    `Namespaces  ${r.namespaces === null ? 'unknown' : r.namespaces.supported ? `supported${r.namespaces.children.length ? `: ${r.namespaces.children.join(', ')}` : ''}` : 'not supported'}`,
    `Engines     ${r.secretsEngines === null ? 'unknown (no read on sys/mounts)' : r.secretsEngines.map((m) => `${m.path} ${m.type}${m.kvVersion ? ` v${m.kvVersion}` : ''}`).join(', ')}`,
    `Auth        ${r.authMethods === null ? 'unknown (no read on sys/auth)' : r.authMethods.map((m) => `${m.path} ${m.type}`).join(', ')}`,
    ...(r.plugins
      ? [
          `Can enable  auth: ${r.plugins.auth.join(', ')}`,
          `            databases: ${r.plugins.database.map((d) => d.replace(/-database-plugin$/, '')).join(', ')}`,
        ]
      : []),
    `Ready       ${r.ready ? 'yes' : 'no'}`,
  ];
  for (const w of r.warnings) lines.push(`Warning     ${w}`);
  return lines.join('\n');
}

/** Rows under a header row, each column as wide as its widest cell, two spaces apart. */
export function printTable(table: string[][], out: (line: string) => void): void {
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
  for (const row of table)
    out(
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}
