// What the standby's own log says about a restore: after a snapshot is applied ("restored user
// snapshot") the server waits before it reloads ("running post snapshot restore invalidations")
// and serves again. On OpenBao that pause is about 5 s whatever the snapshot's size, and it is most
// of a restore's time here: the benchmark prints it so that the figure is not blamed on vaultops.
import { readFileSync } from 'node:fs';

const APPLIED = /^(\S+) \[INFO\]\s+storage\.raft: restored user snapshot/;
const RELOADED = /^(\S+) \[INFO\]\s+core: running post snapshot restore invalidations/;

/** Each restore's pause in the log, in order (ms); empty when the server logs neither line. */
export function restorePauses(logFile: string): number[] {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const pauses: number[] = [];
  let appliedAt: number | undefined;
  for (const line of text.split('\n')) {
    const applied = APPLIED.exec(line);
    if (applied) appliedAt = Date.parse(applied[1] as string);
    const reloaded = RELOADED.exec(line);
    if (reloaded && appliedAt !== undefined) {
      pauses.push(Date.parse(reloaded[1] as string) - appliedAt);
      appliedAt = undefined;
    }
  }
  return pauses.filter((ms) => Number.isFinite(ms));
}
