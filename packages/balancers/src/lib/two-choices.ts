import type { ServiceInstance } from '@switchyard/core';
import type { PickContext, Picker } from './balancer.ts';
import { randomIndex } from './fast-random.ts';

/**
 * The two-choices pick (Mitzenmacher): draw two distinct allowed instances at random, keep the
 * better one. Strategies differ only in `better`, which compares two indexes into `instances`.
 */
export abstract class TwoChoicesPicker implements Picker {
  protected readonly instances: readonly ServiceInstance[];
  readonly #pair = new Int32Array(2);

  constructor(instances: readonly ServiceInstance[]) {
    this.instances = instances;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const pair = this.#pair;
    const found = drawTwo(this.instances, context?.excluded, pair);
    if (found === 0) return undefined;
    if (found === 1) return this.instances[pair[0]!];
    return this.instances[this.better(pair[0]!, pair[1]!)];
  }

  /** The index to send to, of `a` and `b`. Both were drawn at random: keeping `a` on a tie is a random tie-break. */
  protected abstract better(a: number, b: number): number;
}

/**
 * Draws two distinct random instances that are not excluded into `pair` and returns how many
 * it found (2, or 1 when only one instance is allowed, or 0). An excluded draw is replaced by
 * the next allowed instance after it, so the answer never depends on luck.
 */
export function drawTwo(
  instances: readonly ServiceInstance[],
  excluded: ((instance: ServiceInstance) => boolean) | undefined,
  pair: Int32Array,
): number {
  const n = instances.length;
  let a = randomIndex(n);
  if (n === 1) {
    pair[0] = a;
    return excluded?.(instances[a]!) ? 0 : 1;
  }
  let b = randomIndex(n - 1);
  if (b >= a) b++;
  if (excluded) {
    if (excluded(instances[a]!)) {
      a = walk(instances, a, -1, excluded);
      if (a === -1) return 0;
    }
    if (b === a || excluded(instances[b]!)) {
      b = walk(instances, b, a, excluded);
      if (b === -1) {
        pair[0] = a;
        return 1;
      }
    }
  }
  pair[0] = a;
  pair[1] = b;
  return 2;
}

/** The first allowed index after `from` (wrapping, `from` itself last) other than `skip`, or -1. */
function walk(
  instances: readonly ServiceInstance[],
  from: number,
  skip: number,
  excluded: (instance: ServiceInstance) => boolean,
): number {
  const n = instances.length;
  for (let k = 1, i = from + 1 === n ? 0 : from + 1; k <= n; k++, i = i + 1 === n ? 0 : i + 1) {
    if (i !== skip && !excluded(instances[i]!)) return i;
  }
  return -1;
}
