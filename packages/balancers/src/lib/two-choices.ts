import type { ServiceInstance } from '@switchyard/core';
import { randomIndex } from './fast-random.ts';

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
