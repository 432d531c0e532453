import { type InstanceSnapshot, type ServiceInstance, weightOf } from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { type InstanceLoad, instanceLoad } from './instance-load.ts';

class LeastConnectionsPicker implements Picker {
  readonly #instances: readonly ServiceInstance[];
  readonly #load: InstanceLoad;
  readonly #weights: Float64Array;
  /** Indexes of the instances tied for least loaded in the current pick; reused. */
  readonly #ties: Int32Array;

  constructor(instances: readonly ServiceInstance[], load: InstanceLoad) {
    this.#instances = instances;
    this.#load = load;
    this.#weights = Float64Array.from(instances, weightOf);
    this.#ties = new Int32Array(instances.length);
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const instances = this.#instances;
    const { stats, inverseWeight } = this.#load;
    const weights = this.#weights;
    const ties = this.#ties;
    const excluded = context?.excluded;
    let best = Number.POSITIVE_INFINITY;
    let count = 0;
    let tieWeight = 0;
    for (let i = 0; i < instances.length; i++) {
      if (excluded?.(instances[i]!)) continue;
      const score = stats[i]!.inflight * inverseWeight[i]!;
      if (score < best) {
        best = score;
        ties[0] = i;
        count = 1;
        tieWeight = weights[i]!;
      } else if (score === best) {
        ties[count++] = i;
        tieWeight += weights[i]!;
      }
    }
    if (count <= 1) return count === 0 ? undefined : instances[ties[0]!];
    // Ties (an idle fleet, typically) go to a random one, drawn by weight.
    let r = Math.random() * tieWeight;
    for (let k = 0; k < count - 1; k++) {
      r -= weights[ties[k]!]!;
      if (r < 0) return instances[ties[k]!];
    }
    return instances[ties[count - 1]!];
  }
}

/**
 * Least connections: the instance with the fewest requests in flight per unit of weight, ties
 * broken at random by weight. O(n) per pick; the most even choice a single client can make,
 * and the one that steers away from a slow instance fastest (its requests pile up).
 *
 * @example
 * const client = new ServiceDiscoveryClient({ registry, balancer: leastConnections() });
 */
export function leastConnections(): Balancer {
  return Object.freeze({
    name: 'leastConnections',
    build(snapshot: InstanceSnapshot, { load }: BuildContext): Picker {
      const instances = snapshot.instances;
      if (instances.length === 0) return emptyPicker;
      return new LeastConnectionsPicker(instances, instanceLoad(instances, load));
    },
  });
}
