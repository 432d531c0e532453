import type { InstanceSnapshot, ServiceInstance } from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type Picker } from './balancer.ts';
import { type InstanceLoad, instanceLoad } from './instance-load.ts';
import { TwoChoicesPicker } from './two-choices.ts';

class PowerOfTwoChoicesPicker extends TwoChoicesPicker {
  readonly #load: InstanceLoad;

  constructor(instances: readonly ServiceInstance[], load: InstanceLoad) {
    super(instances);
    this.#load = load;
  }

  /** Fewer requests in flight per unit of weight wins. */
  protected better(a: number, b: number): number {
    const { stats, inverseWeight } = this.#load;
    return stats[b]!.inflight * inverseWeight[b]! < stats[a]!.inflight * inverseWeight[a]! ? b : a;
  }
}

/**
 * Power of two choices (Mitzenmacher): draw two distinct instances at random and send to the one
 * with fewer requests in flight per unit of weight. Nearly as even as least-connections, O(1),
 * and it avoids the herd that a global "least loaded" choice sends to one instance when many
 * clients see the same numbers.
 *
 * @example
 * const client = new ServiceDiscoveryClient({ registry, balancer: powerOfTwoChoices() });
 */
export function powerOfTwoChoices(): Balancer {
  return Object.freeze({
    name: 'powerOfTwoChoices',
    build(snapshot: InstanceSnapshot, { load }: BuildContext): Picker {
      const instances = snapshot.instances;
      if (instances.length === 0) return emptyPicker;
      return new PowerOfTwoChoicesPicker(instances, instanceLoad(instances, load));
    },
  });
}
