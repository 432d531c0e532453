import { randomFraction } from './fast-random.ts';

/**
 * Vose's alias method: draws index i with probability weights[i] / sum(weights) in O(1), from
 * two tables built once (O(n)). A draw is one random number and two reads; it allocates nothing.
 */
export class AliasTable {
  readonly #threshold: Float64Array;
  readonly #alias: Int32Array;

  constructor(weights: Float64Array) {
    const n = weights.length;
    this.#threshold = new Float64Array(n);
    this.#alias = new Int32Array(n);
    let total = 0;
    for (const weight of weights) total += weight;
    const scaled = weights.map((weight) => (weight * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) (scaled[i]! < 1 ? small : large).push(i);
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.#threshold[s] = scaled[s]!;
      this.#alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    // Leftovers are 1 up to rounding error.
    for (const i of large) this.#threshold[i] = 1;
    for (const i of small) this.#threshold[i] = 1;
  }

  draw(): number {
    const u = randomFraction() * this.#threshold.length;
    const column = Math.floor(u);
    return u - column < this.#threshold[column]! ? column : this.#alias[column]!;
  }
}
