/**
 * Latency buckets on a log scale: 4 per doubling from 0.05 ms, 96 buckets up to ~800 s, so a
 * percentile is within ±9 % of the truth whatever the range. Counts live in a caller's
 * Uint32Array, so many histograms share one allocation and merging is an add.
 */
export const BUCKETS = 96;
const BASE_MS = 0.05;
const PER_DOUBLING = 4;

/** The bucket of a latency. */
export function bucketOf(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  const index = Math.floor(Math.log2(ms / BASE_MS) * PER_DOUBLING) + 1;
  return index >= BUCKETS ? BUCKETS - 1 : index;
}

/** A representative latency of a bucket (its geometric middle). */
export function bucketValue(index: number): number {
  if (index <= 0) return BASE_MS;
  return BASE_MS * 2 ** ((index - 0.5) / PER_DOUBLING);
}

/** The `q` quantile (0..1) of counts summed over `slices` histograms stored back to back. */
export function quantile(counts: Uint32Array, slices: readonly number[], q: number): number | undefined {
  let total = 0;
  for (const slice of slices) for (let b = 0; b < BUCKETS; b++) total += counts[slice * BUCKETS + b] ?? 0;
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let b = 0; b < BUCKETS; b++) {
    for (const slice of slices) seen += counts[slice * BUCKETS + b] ?? 0;
    if (seen >= rank) return bucketValue(b);
  }
  return bucketValue(BUCKETS - 1);
}
