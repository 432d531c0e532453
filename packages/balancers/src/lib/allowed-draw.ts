import type { ServiceInstance } from '@switchyard/core';
import { randomFraction } from './fast-random.ts';

/** How many redraws a random pick tries before it falls back to an exact draw among the allowed. */
export const REDRAWS = 4;

/**
 * An exact random draw among the instances a pick may use: by `weights` (uniform when
 * undefined), skipping excluded ones and the index `skip`. Returns the index, or -1 when none is
 * allowed. O(n), allocation-free: the fallback once redraws keep hitting excluded instances.
 *
 * Redraws and this fallback both give each allowed instance exactly its share, so a mix of them
 * does too; walking on to the next allowed index instead would hand a run of excluded instances'
 * share to the one after it (a zone's outage to the next zone).
 */
export function drawAllowed(
  instances: readonly ServiceInstance[],
  weights: Float64Array | undefined,
  excluded: ((instance: ServiceInstance) => boolean) | undefined,
  skip = -1,
): number {
  const n = instances.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (i !== skip && !excluded?.(instances[i]!)) total += weights ? weights[i]! : 1;
  }
  if (total === 0) return -1;
  let r = randomFraction() * total;
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (i === skip || excluded?.(instances[i]!)) continue;
    last = i;
    r -= weights ? weights[i]! : 1;
    if (r < 0) return i;
  }
  return last;
}
