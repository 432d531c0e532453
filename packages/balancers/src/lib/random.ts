import type { InstanceSnapshot, ServiceInstance } from '@switchyard/core';
import { drawAllowed, REDRAWS } from './allowed-draw.ts';
import { type Balancer, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { randomIndex } from './fast-random.ts';

class RandomPicker implements Picker {
  readonly #instances: readonly ServiceInstance[];

  constructor(instances: readonly ServiceInstance[]) {
    this.#instances = instances;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const instances = this.#instances;
    const index = randomIndex(instances.length);
    const excluded = context?.excluded;
    if (!excluded || !excluded(instances[index]!)) return instances[index];
    // Redraws (rejection sampling) stay uniform over the allowed; the exact draw ends it.
    for (let tries = 1; tries < REDRAWS; tries++) {
      const again = randomIndex(instances.length);
      if (!excluded(instances[again]!)) return instances[again];
    }
    const allowed = drawAllowed(instances, undefined, excluded);
    return allowed === -1 ? undefined : instances[allowed];
  }
}

/**
 * Uniformly random, ignoring weights. Stateless and cheap; good when there are many clients
 * and requests cost about the same. See `weightedRandom()` to honour `instance.weight`.
 *
 * @example
 * const client = new ServiceDiscoveryClient({ registry, balancer: random() });
 */
export function random(): Balancer {
  return Object.freeze({
    name: 'random',
    build(snapshot: InstanceSnapshot): Picker {
      return snapshot.instances.length === 0 ? emptyPicker : new RandomPicker(snapshot.instances);
    },
  });
}
