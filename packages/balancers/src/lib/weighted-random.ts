import { type InstanceSnapshot, type ServiceInstance, weightOf } from '@switchyard/core';
import { type Balancer, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { randomFraction } from './fast-random.ts';

/**
 * Weighted random by Vose's alias method: each instance is drawn with probability
 * weight / sum(weights) in O(1), from two tables built once per snapshot.
 */
class WeightedRandomPicker implements Picker {
  readonly #instances: readonly ServiceInstance[];
  readonly #threshold: Float64Array;
  readonly #alias: Int32Array;

  constructor(instances: readonly ServiceInstance[]) {
    const n = instances.length;
    this.#instances = instances;
    this.#threshold = new Float64Array(n);
    this.#alias = new Int32Array(n);
    let total = 0;
    for (const instance of instances) total += weightOf(instance);
    const scaled = Float64Array.from(instances, (instance) => (weightOf(instance) * n) / total);
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

  #draw(): number {
    const u = randomFraction() * this.#instances.length;
    const column = Math.floor(u);
    return u - column < this.#threshold[column]! ? column : this.#alias[column]!;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const instances = this.#instances;
    const excluded = context?.excluded;
    const index = this.#draw();
    if (!excluded || !excluded(instances[index]!)) return instances[index];
    // Redraws (rejection sampling) keep the weighting among the others; the scan guarantees an answer.
    for (let tries = 0; tries < 3; tries++) {
      const again = this.#draw();
      if (!excluded(instances[again]!)) return instances[again];
    }
    return this.#drawAllowed(excluded);
  }

  /** An exact weighted draw among the allowed instances, O(n): for when most weight is excluded. */
  #drawAllowed(excluded: (instance: ServiceInstance) => boolean): ServiceInstance | undefined {
    const instances = this.#instances;
    let total = 0;
    for (const instance of instances) if (!excluded(instance)) total += weightOf(instance);
    let r = randomFraction() * total;
    let last: ServiceInstance | undefined;
    for (const instance of instances) {
      if (excluded(instance)) continue;
      last = instance;
      r -= weightOf(instance);
      if (r < 0) return instance;
    }
    return last;
  }
}

/**
 * Random, with each instance drawn in proportion to `instance.weight` (default 1).
 *
 * @example
 * const client = new ServiceDiscoveryClient({ registry, balancer: weightedRandom() });
 */
export function weightedRandom(): Balancer {
  return Object.freeze({
    name: 'weightedRandom',
    build(snapshot: InstanceSnapshot): Picker {
      return snapshot.instances.length === 0 ? emptyPicker : new WeightedRandomPicker(snapshot.instances);
    },
  });
}
