// The RTO clock the DR runbooks keep: time per phase (a phase run twice, like a failback's two
// unseals, adds up) and in all, the sum of the phases.
export interface PhaseClock<P extends string> {
  timed<T>(phase: P, fn: () => Promise<T>): Promise<T>;
  rto(): { phases: Partial<Record<P, number>>; totalMs: number };
}

export function phaseClock<P extends string>(): PhaseClock<P> {
  const phases: Partial<Record<P, number>> = {};
  return {
    async timed(phase, fn) {
      const started = Date.now();
      try {
        return await fn();
      } finally {
        phases[phase] = (phases[phase] ?? 0) + (Date.now() - started);
      }
    },
    rto: () => ({
      phases: { ...phases },
      totalMs: (Object.values(phases) as number[]).reduce((a, b) => a + b, 0),
    }),
  };
}
