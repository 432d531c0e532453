import type { InstanceSnapshot, ServiceInstance } from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { type InstanceLoad, instanceLoad } from './instance-load.ts';
import { drawTwo } from './two-choices.ts';

class PowerOfTwoChoicesPicker implements Picker {
  readonly #instances: readonly ServiceInstance[];
  readonly #load: InstanceLoad;
  readonly #pair = new Int32Array(2);

  constructor(instances: readonly ServiceInstance[], load: InstanceLoad) {
    this.#instances = instances;
    this.#load = load;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const pair = this.#pair;
    const found = drawTwo(this.#instances, context?.excluded, pair);
    if (found === 0) return undefined;
    const a = pair[0]!;
    if (found === 1) return this.#instances[a];
    const b = pair[1]!;
    const { stats, inverseWeight } = this.#load;
    // Both were drawn at random, so keeping `a` on a tie is itself a random tie-break.
    return this.#instances[
      stats[b]!.inflight * inverseWeight[b]! < stats[a]!.inflight * inverseWeight[a]! ? b : a
    ];
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
