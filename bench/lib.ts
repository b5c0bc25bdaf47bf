// Small benchmark helpers. Figures are only compared within one run: these machines are noisy,
// so every benchmark measures its own baseline next to the thing it measures and prints ratios.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type HttpMethod, type RequestOptions, VaultClient } from '../vault/client.js';

/**
 * A benchmark's size from the environment, `fallback` when unset. A value that is no whole number
 * of at least `min` stops the benchmark before it starts anything (exit status 2).
 */
export function wholeNumberSetting(name: string, fallback: number, min = 1): number {
  const value = Number(process.env[name] ?? fallback);
  if (Number.isInteger(value) && value >= min) return value;
  console.error(`${name} must be a whole number >= ${min}`);
  process.exit(2);
}

export interface LatencyStats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

export function stats(samplesMs: number[]): LatencyStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    n: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

/** Sequential calls: latency distribution after a warm-up. */
export async function latency(
  fn: () => Promise<unknown>,
  iterations: number,
  warmup = 100,
): Promise<LatencyStats> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return stats(samples);
}

/** Calls with a fixed number in flight: operations per second. */
export async function throughput(
  fn: () => Promise<unknown>,
  total: number,
  concurrency: number,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        await fn();
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

const ms = (v: number) => `${v.toFixed(3)} ms`;

export function printLatency(name: string, s: LatencyStats, baseline?: LatencyStats): void {
  const ratio = baseline
    ? `  (p50 ${(s.p50 / baseline.p50).toFixed(2)}x baseline, p99 ${(s.p99 / baseline.p99).toFixed(2)}x)`
    : '';
  process.stdout.write(`${name.padEnd(46)} p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  n=${s.n}${ratio}\n`);
}

export function printThroughput(name: string, opsPerSecond: number, baseline?: number): void {
  const ratio = baseline ? `  (${(opsPerSecond / baseline).toFixed(2)}x baseline)` : '';
  process.stdout.write(`${name.padEnd(46)} ${opsPerSecond.toFixed(0)} ops/s${ratio}\n`);
}

/** Counts the Vault API calls made through it (a call's transport retries are one call). */
export class CountingVaultClient extends VaultClient {
  calls = 0;
  override request(method: HttpMethod, path: string, options?: RequestOptions): Promise<unknown> {
    this.calls += 1;
    return super.request(method, path, options);
  }
  override requestRaw(path: string, options?: Parameters<VaultClient['requestRaw']>[1]) {
    this.calls += 1;
    return super.requestRaw(path, options);
  }
}

/** What a measured run cost: its wall time, Vault calls, this process's CPU and the servers'. */
export interface RunCost {
  /** Operations in the run. */
  n: number;
  wallMs: number;
  vaultCalls: number;
  /** This process's CPU time (activities, workflow threads, SDK core, client); not the servers'. */
  cpuMs: number;
  /** The servers' CPU time; NaN off Linux. */
  serverCpuMs: number;
}

/** Runs `work` over `n` operations; the figures count only the calls and CPU spent meanwhile. */
export async function measured<T>(
  n: number,
  counter: CountingVaultClient,
  serverPids: number[],
  work: () => Promise<T>,
): Promise<RunCost & { value: T }> {
  const callsBefore = counter.calls;
  const cpuBefore = process.cpuUsage();
  const serverCpuBefore = processCpuMs(serverPids);
  const t0 = performance.now();
  const value = await work();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    n,
    wallMs,
    vaultCalls: counter.calls - callsBefore,
    cpuMs: (cpu.user + cpu.system) / 1000,
    serverCpuMs: processCpuMs(serverPids) - serverCpuBefore,
    value,
  };
}

/** Both sides' CPU per operation, for ratios; the servers' counts as 0 where it could not be read. */
export const allCpuPerOp = (r: RunCost) =>
  (r.cpuMs + (Number.isNaN(r.serverCpuMs) ? 0 : r.serverCpuMs)) / r.n;

const CLOCK_TICKS_PER_SECOND = 100; // Linux's USER_HZ on every architecture Node runs on

/** CPU time of processes (and their reaped children) from /proc; NaN where there is no /proc. */
export function processCpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state is field 3, utime 14 ... cstime 17.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      for (const i of [11, 12, 13, 14]) ticks += Number(fields[i]);
    } catch {
      return Number.NaN;
    }
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** 1, 5 and 15 minute load averages: how busy the (shared) machine was. */
export const loadNow = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
