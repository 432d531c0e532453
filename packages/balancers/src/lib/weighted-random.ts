import { type InstanceSnapshot, type ServiceInstance, weightOf } from '@switchyard/core';
import { AliasTable } from './alias-table.ts';
import { drawAllowed, REDRAWS } from './allowed-draw.ts';
import { type Balancer, emptyPicker, type PickContext, type Picker } from './balancer.ts';

/**
 * Weighted random by Vose's alias method: each instance is drawn with probability
 * weight / sum(weights) in O(1), from two tables built once per snapshot.
 */
class WeightedRandomPicker implements Picker {
  readonly #instances: readonly ServiceInstance[];
  readonly #weights: Float64Array;
  readonly #table: AliasTable;

  constructor(instances: readonly ServiceInstance[]) {
    this.#instances = instances;
    this.#weights = Float64Array.from(instances, weightOf);
    this.#table = new AliasTable(this.#weights);
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const instances = this.#instances;
    const excluded = context?.excluded;
    const index = this.#table.draw();
    if (!excluded || !excluded(instances[index]!)) return instances[index];
    // Redraws (rejection sampling) keep the weighting among the others; the exact draw ends it.
    for (let tries = 1; tries < REDRAWS; tries++) {
      const again = this.#table.draw();
      if (!excluded(instances[again]!)) return instances[again];
    }
    const allowed = drawAllowed(instances, this.#weights, excluded);
    return allowed === -1 ? undefined : instances[allowed];
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
