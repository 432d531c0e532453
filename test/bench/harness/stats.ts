export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median over rounds of ours[i] / peer[i]: each ratio compares two figures measured minutes
 * apart at most, under the same load, which a ratio of two medians would not.
 */
export function sameRoundRatio(ours: readonly number[], peer: readonly number[]): number {
  const rounds = Math.min(ours.length, peer.length);
  return median(Array.from({ length: rounds }, (_, i) => ours[i]! / peer[i]!));
}

/** The 25th and 75th percentiles of `values`: where the middle half of the rounds fell. */
export function middleHalf(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  return [quantile(sorted, 0.25), quantile(sorted, 0.75)];
}

/** Value at quantile q (0…1) of an ascending-sorted array. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/**
 * The order of `n` variants in round `round`: the rows of a Williams design. Over n rounds (2n
 * when n is odd) every variant runs once in each position and follows every other variant equally
 * often. A plain rotation keeps the cyclic order, so each variant would always inherit the same
 * predecessor's leftovers (its garbage, which the next scavenge charges to whoever runs then; its
 * caches and branch history): a bias no number of rounds averages out.
 */
export function roundOrder(n: number, round: number): number[] {
  const cycle = n % 2 === 0 ? n : 2 * n;
  const row = ((round % cycle) + cycle) % cycle;
  const shift = row % n;
  // 0, 1, n-1, 2, n-2, …: consecutive differences that cover every non-zero step once.
  const order = Array.from({ length: n }, (_, j) => {
    const base = j % 2 === 1 ? (j + 1) / 2 : (n - j / 2) % n;
    return (base + shift) % n;
  });
  return row < n ? order : order.reverse();
}

/**
 * Runs every variant once per round, in the order `roundOrder` gives, so that neither a drift in
 * the machine's load nor what one variant leaves behind for the next always favours the same one.
 * Returns each variant's results by round.
 *
 * `warmUpRounds` full rounds run first and are thrown away. A short per-variant warm-up is not
 * enough: over the first ~100,000 requests of a process V8 still grows its young generation and
 * finishes compiling, and CPU per request in those rounds was up to 1.9× the steady figure, more
 * for whichever variant ran first.
 *
 * `beforeRound` runs before each round, warm-up rounds included (numbered -1, -2…).
 */
export async function interleavedRounds<R>(
  rounds: number,
  variants: readonly { readonly name: string; run(round: number): Promise<R> }[],
  warmUpRounds = 0,
  beforeRound?: (round: number) => void,
): Promise<Map<string, R[]>> {
  for (let round = 0; round < warmUpRounds; round++) {
    beforeRound?.(-1 - round);
    for (const k of roundOrder(variants.length, round)) await variants[k]!.run(-1 - round);
  }
  const results = new Map<string, R[]>(variants.map((variant) => [variant.name, []]));
  for (let round = 0; round < rounds; round++) {
    beforeRound?.(round);
    for (const k of roundOrder(variants.length, round)) {
      const variant = variants[k]!;
      results.get(variant.name)![round] = await variant.run(round);
    }
  }
  return results;
}
