import type { InstanceSnapshot, InstanceStats, ServiceInstance } from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { randomIndex } from './fast-random.ts';
import { type InstanceLoad, instanceLoad } from './instance-load.ts';
import { TwoChoicesPicker } from './two-choices.ts';

class PowerOfTwoChoicesPicker extends TwoChoicesPicker {
  readonly #stats: readonly InstanceStats[];
  /** undefined when all weights are equal: raw in-flight counts compare, no multiplications. */
  readonly #inverseWeight: Float64Array | undefined;

  /** Equal weights and more than one instance: the pick can take the inline path. */
  readonly #plain: boolean;

  constructor(instances: readonly ServiceInstance[], load: InstanceLoad) {
    super(instances);
    this.#stats = load.stats;
    const inverse = load.inverseWeight;
    this.#inverseWeight = inverse.every((value) => value === inverse[0]) ? undefined : inverse;
    this.#plain = this.#inverseWeight === undefined && instances.length > 1;
  }

  /**
   * The common case inline (equal weights, nothing excluded): two distinct uniform draws and one
   * compare, with no call through the shared two-choices code, whose `better` call site sees
   * every two-choices strategy in the process.
   */
  override pick(context?: PickContext): ServiceInstance | undefined {
    if (!this.#plain || context?.excluded !== undefined) return super.pick(context);
    const instances = this.instances;
    const n = instances.length;
    const stats = this.#stats;
    const a = randomIndex(n);
    let b = randomIndex(n - 1);
    if (b >= a) b++;
    return instances[stats[b]!.inflight < stats[a]!.inflight ? b : a];
  }

  /** Fewer requests in flight per unit of weight wins. */
  protected better(a: number, b: number): number {
    const stats = this.#stats;
    const inverseWeight = this.#inverseWeight;
    if (inverseWeight === undefined) return stats[b]!.inflight < stats[a]!.inflight ? b : a;
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
