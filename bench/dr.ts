// `npm run bench:dr`: the DR figures, each against a baseline from the same
// run, on a DR pair of single-node raft clusters started by the project's scripts, a Temporal dev
// server and an in-process worker (bench/dr-stack.ts):
//   fill      BENCH_DR_SECRETS (10,000) KV v2 secrets written to the primary through the access
//             layer, BENCH_DR_CONCURRENCY (16) in flight;
//   save      a plain streamed `sys/storage/raft/snapshot` download to a file, and drProtectWorkflow;
//   restore   the same snapshot, a plain snapshot-force into the standby, and drDrillWorkflow
//             (restore, unseal, compare); the first drill on its own (a cold standby seals itself);
//   failover  the primary's node SIGKILLed, drFailoverWorkflow with detection and a pre-approved
//             policy; the bench as key holder sends the primary's share as soon as it waits; the
//             report's RTO per phase and its RPO.
// BENCH_DR_RUNS (3) runs of save and restore, medians printed. BENCH_FLAVOUR: openbao (default),
// vault, or both. Ends with a markdown table for docs/benchmarks.md. Takes a few minutes, which is why
// `npm run bench` only points here.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { VaultFlavour } from '../client/stack/vault-dev.js';
import { encryptingDataConverter } from '../codec/data-converter.js';
import { devKeyFile, loadKeyFile } from '../codec/key-file.js';
import { FAILOVER_PHASES } from '../common/dr/failover.js';
import { bundleVaultopsWorkflows } from '../workers/worker.js';
import {
  type DrillRun,
  drill,
  type FailoverRun,
  type FillResult,
  failover,
  fill,
  kvKeyCapFor,
  mb,
  type PlainRestoreRun,
  plainRestore,
  type SaveRun,
  saveRun,
  secretPath,
  settleStandby,
} from './dr-measure.js';
import { restorePauses } from './dr-server-log.js';
import { type DrBenchStack, startDrBenchStack } from './dr-stack.js';
import { loadNow, wholeNumberSetting } from './lib.js';

const secrets = wholeNumberSetting('BENCH_DR_SECRETS', 10_000);
const runs = wholeNumberSetting('BENCH_DR_RUNS', 3);
const concurrency = wholeNumberSetting('BENCH_DR_CONCURRENCY', 16);
const flavourSetting = process.env.BENCH_FLAVOUR ?? 'openbao';
const FLAVOURS: Record<string, VaultFlavour[]> = {
  openbao: ['openbao'],
  vault: ['vault'],
  both: ['openbao', 'vault'],
};
const flavours = FLAVOURS[flavourSetting];
if (!flavours) {
  console.error('BENCH_FLAVOUR must be openbao, vault or both');
  process.exit(2);
}

interface FlavourResult {
  flavour: VaultFlavour;
  fill: FillResult;
  saves: SaveRun[];
  coldDrill: DrillRun;
  plainRestores: PlainRestoreRun[];
  drills: DrillRun[];
  /** The standby's own pause between applying each restored snapshot and serving (its log). */
  serverPauses: number[];
  failover: FailoverRun;
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const fixed = (v: number, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const rate = (bytes: number, ms: number) => mb(bytes) / (ms / 1000);
const cols = (widths: number[], values: (string | number)[]) =>
  values
    .map((v, i) => (i === 0 ? String(v).padEnd(widths[i] ?? 8) : String(v).padStart(widths[i] ?? 8)))
    .join('');

const SAVE_WIDTHS = [8, 8, 10, 12, 12, 14, 9, 13, 17, 10];
const saveHeader = cols(SAVE_WIDTHS, [
  'run',
  'MB',
  'plain ms',
  'plain MB/s',
  'protect ms',
  'protect MB/s',
  'x plain',
  'snapshot ms',
  'fingerprints ms',
  'other ms',
]);
function saveRow(label: string, r: SaveRun['plain'], p: SaveRun['protect']): string {
  return cols(SAVE_WIDTHS, [
    label,
    fixed(mb(p.bytes), 2),
    fixed(r.ms),
    fixed(rate(r.bytes, r.ms), 1),
    fixed(p.ms),
    fixed(rate(p.bytes, p.ms), 1),
    `${fixed(p.ms / r.ms, 2)}x`,
    fixed(p.snapshotMs),
    fixed(p.fingerprintMs),
    fixed(p.otherMs),
  ]);
}
const medianSave = (saves: SaveRun[]) => ({
  plain: { bytes: median(saves.map((s) => s.plain.bytes)), ms: median(saves.map((s) => s.plain.ms)) },
  protect: {
    bytes: median(saves.map((s) => s.protect.bytes)),
    ms: median(saves.map((s) => s.protect.ms)),
    snapshotMs: median(saves.map((s) => s.protect.snapshotMs)),
    fingerprintMs: median(saves.map((s) => s.protect.fingerprintMs)),
    otherMs: median(saves.map((s) => s.protect.otherMs)),
  },
});

const RESTORE_WIDTHS = [8, 11, 12, 12, 10, 11, 12, 12, 12, 13, 9, 8];
const restoreHeader = cols(RESTORE_WIDTHS, [
  'run',
  'plain up',
  'plain MB/s',
  'plain ready',
  'drill ms',
  'drill up',
  'drill MB/s',
  'drill ready',
  'compare ms',
  'manifest ms',
  'x plain',
  'shares',
]);
function restoreRow(label: string, p: PlainRestoreRun, d: DrillRun): string {
  return cols(RESTORE_WIDTHS, [
    label,
    fixed(p.uploadMs),
    fixed(rate(p.bytes, p.uploadMs), 1),
    fixed(p.readyMs),
    fixed(d.totalMs),
    fixed(d.uploadMs),
    fixed(rate(d.bytes, d.uploadMs), 1),
    fixed(d.readyMs),
    fixed(d.compareMs),
    fixed(d.manifestMs),
    `${fixed(d.totalMs / p.readyMs, 2)}x`,
    `${p.shares}/${d.shares}`,
  ]);
}
const medianPlain = (rs: PlainRestoreRun[]): PlainRestoreRun => ({
  bytes: median(rs.map((r) => r.bytes)),
  uploadMs: median(rs.map((r) => r.uploadMs)),
  readyMs: median(rs.map((r) => r.readyMs)),
  shares: median(rs.map((r) => r.shares)),
});
const medianDrill = (rs: DrillRun[]): DrillRun => ({
  bytes: median(rs.map((r) => r.bytes)),
  totalMs: median(rs.map((r) => r.totalMs)),
  uploadMs: median(rs.map((r) => r.uploadMs)),
  restoreMs: median(rs.map((r) => r.restoreMs)),
  readyMs: median(rs.map((r) => r.readyMs)),
  compareMs: median(rs.map((r) => r.compareMs)),
  manifestMs: median(rs.map((r) => r.manifestMs)),
  outcome: 'verified',
  shares: median(rs.map((r) => r.shares)),
});

async function benchFlavour(
  flavour: VaultFlavour,
  shared: Omit<Parameters<typeof startDrBenchStack>[0], 'flavour' | 'taskQueue' | 'fillConnections'>,
  track: (stack: DrBenchStack | undefined) => void,
): Promise<FlavourResult> {
  const stack = await startDrBenchStack({
    ...shared,
    flavour,
    taskQueue: `vaultops-bench-dr-${flavour}`,
    fillConnections: concurrency,
  });
  track(stack);
  out(stack.readyLine);
  const kvKeyCap = kvKeyCapFor(secrets);
  const lastKey = secretPath(secrets - 1);
  try {
    return await stack.worker.runUntil(async () => {
      const filled = await fill(stack, secrets, concurrency);
      out(
        `# ${flavour}: filled the primary with ${secrets} KV v2 secrets (${concurrency} in flight, 100 folders) in ${fixed(filled.ms / 1000, 1)} s: ${fixed(secrets / (filled.ms / 1000))} secrets/s`,
      );

      out(
        `\n# ${flavour} snapshot save, primary holding ${secrets} secrets (MB = 10^6 bytes). plain: GET sys/storage/raft/snapshot\n` +
          '# streamed to a file through the access layer. protect: drProtectWorkflow, client start to result: canary,\n' +
          '# fingerprint, snapshot streamed into the store (hashed, fsynced), fingerprint again, hash read back,\n' +
          '# manifest, retention. snapshot/fingerprints: those activities, scheduled to completed (history).',
      );
      out(saveHeader);
      const saves: SaveRun[] = [];
      for (let run = 0; run < runs; run++) {
        saves.push(await saveRun(stack, run, kvKeyCap));
        const s = saves.at(-1) as SaveRun;
        out(saveRow(String(run + 1), s.plain, s.protect));
      }
      const ms = medianSave(saves);
      out(saveRow('median', ms.plain, ms.protect));

      out(
        `\n# ${flavour} restore of the newest snapshot into the standby (snapshot-force through its leader). The first\n` +
          '# drill meets a cold standby (never restored into): it seals itself after the restore and opens only with\n' +
          "# the primary's key, which the bench, as key holder, sends the moment it sees the seal.",
      );
      const snapshotBytes = saves.at(-1)?.entry.size ?? Number.NaN;
      const coldDrill = await drill(stack, kvKeyCap, snapshotBytes);
      const settled = await settleStandby(stack);
      out(
        `cold drill: ${fixed(coldDrill.totalMs)} ms client start to result; restore activity ${fixed(coldDrill.restoreMs)} ms ` +
          `(upload ${fixed(coldDrill.uploadMs)} ms, ${fixed(rate(snapshotBytes, coldDrill.uploadMs), 1)} MB/s); serving ${fixed(coldDrill.readyMs)} ms after the upload began; ` +
          `compare ${fixed(coldDrill.compareMs)} ms; shares sent during the drill ${coldDrill.shares}, after it ${settled.shares}`,
      );
      out(
        "# warm: the standby holds the primary's keyring since. plain: the same file, snapshot-force through the\n" +
          '# access layer, then a bench secret read back every 20 ms (ready). drill: drDrillWorkflow, client start to\n' +
          '# result; up: its upload; ready: upload start to serving; compare: fingerprint with every key counted.\n' +
          '# x plain: drill over plain ready. shares: key holder shares sent (plain/drill; 0: it stayed unsealed).',
      );
      out(restoreHeader);
      const file = join(stack.storeDir, saves.at(-1)?.entry.file as string);
      const plainRestores: PlainRestoreRun[] = [];
      const drills: DrillRun[] = [];
      for (let run = 0; run < runs; run++) {
        if (run % 2 === 0) plainRestores.push(await plainRestore(stack, file, lastKey));
        drills.push(await drill(stack, kvKeyCap, snapshotBytes));
        if (run % 2 === 1) plainRestores.push(await plainRestore(stack, file, lastKey));
        out(restoreRow(String(run + 1), plainRestores.at(-1) as PlainRestoreRun, drills.at(-1) as DrillRun));
      }
      out(restoreRow('median', medianPlain(plainRestores), medianDrill(drills)));
      const serverPauses = restorePauses(join(stack.dir, 'dr', 'standby', 'node-1', 'server.log'));
      if (serverPauses.length > 0)
        out(
          `# the standby's log, per restore: "restored user snapshot" to "running post snapshot restore invalidations"\n` +
            `# ${serverPauses.join(', ')} ms (median ${fixed(median(serverPauses))} ms): the server's own pause, most of "ready".`,
        );

      const f = await failover(stack, kvKeyCap, lastKey);
      printFailover(flavour, f);
      return { flavour, fill: filled, saves, coldDrill, plainRestores, drills, serverPauses, failover: f };
    });
  } finally {
    track(undefined);
    await stack.close();
  }
}

function printFailover(flavour: VaultFlavour, f: FailoverRun): void {
  const r = f.report;
  out(
    `\n# ${flavour} failover after SIGKILL of the primary's node, into a never-restored standby, pre-approved\n` +
      '# (--auto-approve), detection by probes (default policy: 3 of 5 rounds failing, 1 s apart). RTO phases from\n' +
      "# the workflow's report. restore: the snapshot's upload. unseal: from there until the standby serves again:\n" +
      "# the server's own pause after applying a snapshot (above), the seal that follows a forced restore, then\n" +
      "# the key holder: here the bench, with `vaultops dr unseal-share`'s function, the moment the workflow waits\n" +
      '# (it polls every 100 ms). A person takes longer: this unseal figure is a lower bound.',
  );
  for (const phase of FAILOVER_PHASES) out(`${phase.padEnd(14)}${fixed(f.phases[phase]).padStart(8)} ms`);
  out(
    `${'RTO total'.padEnd(14)}${fixed(r.rto.totalMs).padStart(8)} ms (kill to result at the client ${fixed(f.wallMs)} ms)`,
  );
  out(
    `${'RPO'.padEnd(14)}${fixed(r.snapshot?.rpoMs ?? Number.NaN).padStart(8)} ms (the snapshot's age when the primary was fenced: writes after it are lost)`,
  );
  const k = f.keyHolder;
  const reaction =
    k.firstSeenWaitingAt && k.firstShareAt
      ? `${k.firstShareAt - k.firstSeenWaitingAt} ms from seeing the wait to the share taken`
      : 'no share needed';
  out(
    `# detection: ${r.detection.reason}; fencing: ${r.fencing.map((x) => `${x.address} ${x.outcome}`).join(', ')}; ` +
      `snapshot ${fixed(mb(f.snapshotBytes), 2)} MB, ${r.snapshot?.choice}; sealed after restore: ${r.sealedAfterRestore}; key holder: ${k.shares} share(s), ${reaction}`,
  );
}

/** One row per figure, one column per flavour. */
function markdown(results: FlavourResult[]): string {
  const rows: [string, (r: FlavourResult) => string][] = [
    [
      `Fill: KV v2 secrets written (${concurrency} in flight)`,
      (r) =>
        `${r.fill.secrets} in ${fixed(r.fill.ms / 1000, 1)} s (${fixed(r.fill.secrets / (r.fill.ms / 1000))}/s)`,
    ],
    ['Snapshot size', (r) => `${fixed(mb(medianSave(r.saves).protect.bytes), 2)} MB`],
    [
      'Snapshot save, plain stream (median)',
      (r) => {
        const p = medianSave(r.saves).plain;
        return `${fixed(p.ms)} ms, ${fixed(rate(p.bytes, p.ms), 1)} MB/s`;
      },
    ],
    [
      'Snapshot save, `dr protect` workflow (median)',
      (r) => {
        const m = medianSave(r.saves);
        return `${fixed(m.protect.ms)} ms (${fixed(m.protect.ms / m.plain.ms, 2)}x plain; snapshot step ${fixed(m.protect.snapshotMs)} ms, fingerprints ${fixed(m.protect.fingerprintMs)} ms)`;
      },
    ],
    [
      'Restore, plain snapshot-force, warm standby (median)',
      (r) => {
        const p = medianPlain(r.plainRestores);
        return `upload ${fixed(p.uploadMs)} ms (${fixed(rate(p.bytes, p.uploadMs), 1)} MB/s), serving at ${fixed(p.readyMs)} ms`;
      },
    ],
    [
      'Drill (`dr drill`), warm standby (median)',
      (r) => {
        const d = medianDrill(r.drills);
        return `${fixed(d.totalMs)} ms: upload ${fixed(d.uploadMs)} ms (${fixed(rate(d.bytes, d.uploadMs), 1)} MB/s), serving at ${fixed(d.readyMs)} ms, compare ${fixed(d.compareMs)} ms`;
      },
    ],
    [
      'Drill, cold standby (seals itself; key holder unseals)',
      (r) =>
        `${fixed(r.coldDrill.totalMs)} ms: upload ${fixed(r.coldDrill.uploadMs)} ms, serving at ${fixed(r.coldDrill.readyMs)} ms, compare ${fixed(r.coldDrill.compareMs)} ms`,
    ],
    [
      "Server's own pause after applying a snapshot (its log, median)",
      (r) => (r.serverPauses.length > 0 ? `${fixed(median(r.serverPauses))} ms` : 'not logged'),
    ],
    ...FAILOVER_PHASES.map((phase): [string, (r: FlavourResult) => string] => [
      `Failover RTO: ${phase}${phase === 'unseal' ? ' (automated key holder: lower bound)' : ''}`,
      (r) => `${fixed(r.failover.phases[phase])} ms`,
    ]),
    [
      '**Failover RTO, total** (SIGKILL, detected, pre-approved)',
      (r) => `**${fixed(r.failover.report.rto.totalMs)} ms**`,
    ],
    [
      '**RPO** (snapshot age at fence time)',
      (r) => `**${fixed(r.failover.report.snapshot?.rpoMs ?? Number.NaN)} ms**`,
    ],
  ];
  const names: Record<VaultFlavour, string> = { openbao: 'OpenBao', vault: 'HashiCorp Vault' };
  return [
    `| ${secrets} secrets, ${runs} run(s) | ${results.map((r) => names[r.flavour]).join(' | ')} |`,
    `|---|${results.map(() => '---').join('|')}|`,
    ...rows.map(([label, value]) => `| ${label} | ${results.map(value).join(' | ')} |`),
  ].join('\n');
}

out(
  `vaultops DR benchmark: ${secrets} KV v2 secrets, ${runs} run(s), ${concurrency} in flight, ${flavours.join(' and ')}, node ${process.version}`,
);
const loadAtStart = loadNow();
// ERROR: an activity meeting the standby sealed fails on purpose (the step queues), which the
// worker would log as a warning in the middle of the figures.
Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('ERROR') });
const keyDir = mkdtempSync(join(tmpdir(), 'vaultops-bench-dr-key-'));
let running: DrBenchStack | undefined;
// Ctrl-C: the servers go too.
process.once('SIGINT', () => {
  void (running?.close() ?? Promise.resolve()).finally(() => {
    rmSync(keyDir, { recursive: true, force: true });
    process.exit(130);
  });
});
try {
  const dataConverter = encryptingDataConverter(loadKeyFile(devKeyFile(keyDir), { create: true }));
  const bundle = await bundleVaultopsWorkflows({ dataConverter });
  const results: FlavourResult[] = [];
  for (const flavour of flavours)
    results.push(
      await benchFlavour(flavour, { bundle, dataConverter, keyDir }, (stack) => {
        running = stack;
      }),
    );
  out(`\n# Load average ${loadAtStart} at start, ${loadNow()} at end (${cpus().length} cores).`);
  out(`\n${markdown(results)}`);
} finally {
  rmSync(keyDir, { recursive: true, force: true });
}
