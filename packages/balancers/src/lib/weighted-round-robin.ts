import { type InstanceSnapshot, type ServiceInstance, weightOf } from '@switchyard/core';
import { type Balancer, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { randomIndex } from './fast-random.ts';

/** Largest schedule (picks per cycle) and build effort (cycle × instances) precomputed per snapshot. */
const MAX_SCHEDULE = 1 << 16;
const MAX_BUILD_STEPS = 1 << 24;

/**
 * Smooth weighted round robin (nginx): every pick adds each weight to its instance's running
 * credit, takes the instance with the most credit and charges it the total. Over any window of
 * sum(weights) picks each instance gets exactly its weight, spread out (5,1,1 → a a b a c a a).
 * With integer weights the cycle is computed once per snapshot, so a pick is O(1); otherwise
 * (fractional weights, or a cycle too long to precompute) the picker runs the algorithm live, O(n).
 */
class WeightedRoundRobinPicker implements Picker {
  readonly #instances: readonly ServiceInstance[];
  readonly #schedule: Int32Array | undefined;
  readonly #weights: Float64Array;
  readonly #credit: Float64Array;
  #cursor: number;

  constructor(instances: readonly ServiceInstance[]) {
    this.#instances = instances;
    this.#weights = Float64Array.from(instances, weightOf);
    this.#credit = new Float64Array(instances.length);
    this.#schedule = buildSchedule(this.#weights);
    // Start a fresh cycle at a random place so a fleet of clients does not move in step.
    this.#cursor = this.#schedule ? randomIndex(this.#schedule.length) : 0;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const excluded = context?.excluded;
    const schedule = this.#schedule;
    if (!schedule) return this.#pickLive(excluded);
    const instances = this.#instances;
    // Walk the cycle past excluded entries: the cursor passes each entry once per cycle, so
    // each allowed instance still gets its own turns, and no more.
    const tries = Math.min(schedule.length, instances.length);
    for (let k = 0; k < tries; k++) {
      const index = schedule[this.#cursor]!;
      this.#cursor = this.#cursor + 1 === schedule.length ? 0 : this.#cursor + 1;
      if (!excluded || !excluded(instances[index]!)) return instances[index];
    }
    // A long run of excluded entries (the heaviest instance's, typically): the live algorithm
    // among the allowed only, so their turns are shared by weight, not handed to a neighbour.
    return this.#pickLive(excluded);
  }

  #pickLive(excluded: PickContext['excluded']): ServiceInstance | undefined {
    const instances = this.#instances;
    const weights = this.#weights;
    const credit = this.#credit;
    let best = -1;
    let total = 0;
    for (let i = 0; i < instances.length; i++) {
      if (excluded?.(instances[i]!)) continue;
      credit[i]! += weights[i]!;
      total += weights[i]!;
      if (best === -1 || credit[i]! > credit[best]!) best = i;
    }
    if (best === -1) return undefined;
    credit[best]! -= total;
    return instances[best];
  }
}

/** The whole nginx cycle for integer weights (reduced by their gcd), or undefined when too long. */
function buildSchedule(weights: Float64Array): Int32Array | undefined {
  let divisor = 0;
  for (const weight of weights) {
    if (!Number.isInteger(weight)) return undefined;
    divisor = gcd(divisor, weight);
  }
  const reduced = weights.map((weight) => weight / divisor);
  let total = 0;
  for (const weight of reduced) total += weight;
  if (total > MAX_SCHEDULE || total * reduced.length > MAX_BUILD_STEPS) return undefined;
  const schedule = new Int32Array(total);
  const credit = new Float64Array(reduced.length);
  for (let step = 0; step < total; step++) {
    let best = 0;
    for (let i = 0; i < reduced.length; i++) {
      credit[i]! += reduced[i]!;
      if (credit[i]! > credit[best]!) best = i;
    }
    credit[best]! -= total;
    schedule[step] = best;
  }
  return schedule;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Smooth weighted round robin over `instance.weight` (default 1). Weight changes take effect
 * with the next snapshot.
 *
 * @example
 * const client = new ServiceDiscoveryClient({ registry, balancer: weightedRoundRobin() });
 */
export function weightedRoundRobin(): Balancer {
  return Object.freeze({
    name: 'weightedRoundRobin',
    build(snapshot: InstanceSnapshot): Picker {
      return snapshot.instances.length === 0 ? emptyPicker : new WeightedRoundRobinPicker(snapshot.instances);
    },
  });
}
