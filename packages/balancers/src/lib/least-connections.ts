import { type InstanceSnapshot, type ServiceInstance, weightOf } from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { randomFraction, randomIndex } from './fast-random.ts';
import { type InstanceLoad, instanceLoad } from './instance-load.ts';

class LeastConnectionsPicker implements Picker {
  readonly #instances: readonly ServiceInstance[];
  readonly #load: InstanceLoad;
  readonly #weights: Float64Array;
  /** Indexes of the instances tied for least loaded in the current pick; reused. */
  readonly #ties: Int32Array;
  /** All weights equal: a tie is broken by one uniform draw. */
  readonly #uniform: boolean;

  constructor(instances: readonly ServiceInstance[], load: InstanceLoad) {
    this.#instances = instances;
    this.#load = load;
    this.#weights = Float64Array.from(instances, weightOf);
    this.#ties = new Int32Array(instances.length);
    this.#uniform = this.#weights.every((weight) => weight === this.#weights[0]);
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const excluded = context?.excluded;
    const count = excluded
      ? this.#collectAllowed(excluded)
      : this.#uniform
        ? this.#collectUniform()
        : this.#collect();
    const ties = this.#ties;
    if (count <= 1) return count === 0 ? undefined : this.#instances[ties[0]!];
    return this.#instances[this.#uniform ? ties[randomIndex(count)]! : this.#drawByWeight(count)];
  }

  /** Writes the indexes tied for least loaded into #ties and returns how many there are. */
  #collect(): number {
    const stats = this.#load.stats;
    const inverseWeight = this.#load.inverseWeight;
    const ties = this.#ties;
    let best = Number.POSITIVE_INFINITY;
    let count = 0;
    for (let i = 0; i < stats.length; i++) {
      const score = stats[i]!.inflight * inverseWeight[i]!;
      if (score < best) {
        best = score;
        ties[0] = i;
        count = 1;
      } else if (score === best) {
        ties[count++] = i;
      }
    }
    return count;
  }

  /** As #collect when all weights are equal: raw in-flight counts, integer compares only. */
  #collectUniform(): number {
    const stats = this.#load.stats;
    const ties = this.#ties;
    let best = 0x7fff_ffff;
    let count = 0;
    for (let i = 0; i < stats.length; i++) {
      const inflight = stats[i]!.inflight;
      if (inflight < best) {
        best = inflight;
        ties[0] = i;
        count = 1;
      } else if (inflight === best) {
        ties[count++] = i;
      }
    }
    return count;
  }

  /** As #collect, skipping excluded instances: the failover path. */
  #collectAllowed(excluded: (instance: ServiceInstance) => boolean): number {
    const instances = this.#instances;
    const stats = this.#load.stats;
    const inverseWeight = this.#load.inverseWeight;
    const ties = this.#ties;
    let best = Number.POSITIVE_INFINITY;
    let count = 0;
    for (let i = 0; i < stats.length; i++) {
      if (excluded(instances[i]!)) continue;
      const score = stats[i]!.inflight * inverseWeight[i]!;
      if (score < best) {
        best = score;
        ties[0] = i;
        count = 1;
      } else if (score === best) {
        ties[count++] = i;
      }
    }
    return count;
  }

  /** Ties (an idle fleet, typically) go to a random one, drawn by weight. */
  #drawByWeight(count: number): number {
    const ties = this.#ties;
    const weights = this.#weights;
    let total = 0;
    for (let k = 0; k < count; k++) total += weights[ties[k]!]!;
    let r = randomFraction() * total;
    for (let k = 0; k < count - 1; k++) {
      r -= weights[ties[k]!]!;
      if (r < 0) return ties[k]!;
    }
    return ties[count - 1]!;
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
