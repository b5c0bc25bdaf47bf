// `npm run bench`: every benchmark, each printing figures and ratios to a baseline from the same run.
// BENCH_ITERATIONS and BENCH_CONCURRENCY scale them (defaults suit a 2-core machine).
import { benchSysRead } from './sys-read.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 2000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
if (!Number.isInteger(iterations) || iterations < 10 || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('BENCH_ITERATIONS must be a whole number >= 10 and BENCH_CONCURRENCY >= 1');
  process.exit(2);
}

process.stdout.write(
  `vaultops benchmarks: ${iterations} iterations, ${concurrency} in flight, node ${process.version}\n`,
);
await benchSysRead({ iterations, concurrency });
