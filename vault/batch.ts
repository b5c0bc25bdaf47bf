// Batches with bounded concurrency: every item gets its own outcome, one failure does not stop
// the others, and no more than `concurrency` calls are in flight at once.

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

export async function inBatches<I, T>(
  items: readonly I[],
  concurrency: number,
  call: (item: I, index: number) => Promise<T>,
): Promise<Outcome<T>[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error('concurrency must be a whole number >= 1');
  const outcomes: Outcome<T>[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      try {
        outcomes[index] = { ok: true, value: await call(items[index] as I, index) };
      } catch (err) {
        outcomes[index] = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
      }
    }
  });
  await Promise.all(lanes);
  return outcomes;
}
