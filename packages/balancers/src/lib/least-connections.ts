import { type InflightOrder, type InstanceSnapshot, type ServiceInstance, weightOf } from '@switchyard/core';
import { AliasTable } from './alias-table.ts';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { randomFraction, randomIndex } from './fast-random.ts';
import { type InstanceLoad, instanceLoad } from './instance-load.ts';

/** Fleets up to this size are scanned whole when the sorted order cannot serve: exact, ≤ ~200 ns. */
export const EXACT_SCAN_LIMIT = 64;
/** Candidates a pick samples in a larger fleet when the sorted order cannot serve. */
export const SAMPLES = 8;
/**
 * Instances the service's figures may hold beyond this picker's (departed ones still in flight,
 * unhealthy ones left out of the snapshot) for the sorted order to serve: a run of the least
 * loaded may be made of them, and a pick walks past them.
 */
export const STRANGER_LIMIT = 64;
/** Random positions a pick tries in the run of the least loaded before it scans the run. */
const RUN_DRAWS = 8;

class LeastConnectionsPicker implements Picker {
  readonly #instances: readonly ServiceInstance[];
  readonly #load: InstanceLoad;
  readonly #weights: Float64Array;
  /** Indexes of the instances tied for least loaded in the current pick; reused. */
  readonly #ties: Int32Array;
  /** All weights equal: a tie is broken by one uniform draw. */
  readonly #uniform: boolean;
  /** Draws candidates by weight in a sampled (large) fleet with unequal weights. */
  readonly #alias: AliasTable | undefined;
  /** With equal weights: the service's instances sorted by in-flight count, kept by LoadStats. */
  readonly #order: InflightOrder | undefined;
  /** By slot in the service's counts: the index of that instance here, or -1 (not in this snapshot). */
  readonly #members: Int32Array;

  constructor(instances: readonly ServiceInstance[], load: InstanceLoad) {
    this.#instances = instances;
    this.#load = load;
    this.#weights = Float64Array.from(instances, weightOf);
    this.#ties = new Int32Array(instances.length);
    this.#uniform = this.#weights.every((weight) => weight === this.#weights[0]);
    this.#alias =
      instances.length > EXACT_SCAN_LIMIT && !this.#uniform ? new AliasTable(this.#weights) : undefined;
    this.#order = this.#uniform ? load.service.inflightOrder() : undefined;
    let slotCount = 0;
    for (const slot of load.slots) slotCount = Math.max(slotCount, slot + 1);
    this.#members = new Int32Array(this.#order ? slotCount : 0).fill(-1);
    if (this.#order) for (let i = 0; i < load.slots.length; i++) this.#members[load.slots[i]!] = i;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const excluded = context?.excluded;
    const n = this.#instances.length;
    if (this.#order !== undefined && this.#load.service.size - n <= STRANGER_LIMIT) {
      return this.#leastInOrder(this.#order, excluded);
    }
    if (n > EXACT_SCAN_LIMIT) {
      const sampled = this.#sample(excluded);
      if (sampled !== -1) return this.#instances[sampled];
      // Every sample excluded (most of the fleet is): the exact scan over the allowed settles it.
    }
    const count = excluded
      ? this.#collectAllowed(excluded)
      : this.#uniform
        ? this.#collectUniform()
        : this.#collect();
    const ties = this.#ties;
    if (count <= 1) return count === 0 ? undefined : this.#instances[ties[0]!];
    return this.#instances[this.#uniform ? ties[randomIndex(count)]! : this.#drawByWeight(count)];
  }

  /**
   * Exact, O(1) while few instances are excluded: the service's order puts the least loaded in
   * one run at its start, so a uniform draw from that run is a uniform draw among the ties. A
   * draw that lands on an excluded instance or one not in this snapshot is redrawn; after
   * RUN_DRAWS misses the run is scanned, and when nothing in it may be chosen the next run up
   * decides.
   */
  #leastInOrder(sorted: InflightOrder, excluded: PickContext['excluded']): ServiceInstance | undefined {
    const instances = this.#instances;
    const members = this.#members;
    const counts = this.#load.service.inflightCounts;
    const order = sorted.order;
    const size = sorted.size;
    for (let start = 0; start < size; ) {
      const end = sorted.end(counts[order[start]!]!);
      const span = end - start;
      for (let draw = 0; draw < RUN_DRAWS; draw++) {
        const slot = order[start + randomIndex(span)]!;
        const i = slot < members.length ? members[slot]! : -1;
        if (i !== -1 && (excluded === undefined || !excluded(instances[i]!))) return instances[i];
      }
      const ties = this.#ties;
      let count = 0;
      for (let at = start; at < end; at++) {
        const slot = order[at]!;
        const i = slot < members.length ? members[slot]! : -1;
        if (i !== -1 && (excluded === undefined || !excluded(instances[i]!))) ties[count++] = i;
      }
      if (count > 0) return instances[ties[randomIndex(count)]!];
      start = end;
    }
    return undefined;
  }

  /**
   * The least loaded of SAMPLES random allowed instances (drawn by weight), the first drawn on a
   * tie; -1 when every draw was excluded. With unequal weights the order by count alone does not
   * give the least count per unit of weight, so a large fleet samples.
   */
  #sample(excluded: PickContext['excluded']): number {
    const instances = this.#instances;
    const counts = this.#load.service.inflightCounts;
    const slots = this.#load.slots;
    const inverseWeight = this.#load.inverseWeight;
    const alias = this.#alias;
    const n = instances.length;
    let best = -1;
    if (this.#uniform && excluded === undefined) {
      // Equal weights, nothing excluded: raw in-flight counts, integer compares only.
      let least = 0x7fff_ffff;
      for (let k = 0; k < SAMPLES; k++) {
        const i = randomIndex(n);
        const inflight = counts[slots[i]!]!;
        if (inflight < least) {
          least = inflight;
          best = i;
        }
      }
      return best;
    }
    let bestScore = Number.POSITIVE_INFINITY;
    for (let k = 0; k < SAMPLES; k++) {
      const i = alias ? alias.draw() : randomIndex(n);
      if (excluded?.(instances[i]!)) continue;
      const score = counts[slots[i]!]! * inverseWeight[i]!;
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }

  /** Writes the indexes tied for least loaded into #ties and returns how many there are. */
  #collect(): number {
    const counts = this.#load.service.inflightCounts;
    const slots = this.#load.slots;
    const inverseWeight = this.#load.inverseWeight;
    const ties = this.#ties;
    let best = Number.POSITIVE_INFINITY;
    let count = 0;
    for (let i = 0; i < slots.length; i++) {
      const score = counts[slots[i]!]! * inverseWeight[i]!;
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
    const counts = this.#load.service.inflightCounts;
    const slots = this.#load.slots;
    const ties = this.#ties;
    let best = 0x7fff_ffff;
    let count = 0;
    for (let i = 0; i < slots.length; i++) {
      const inflight = counts[slots[i]!]!;
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
    const counts = this.#load.service.inflightCounts;
    const slots = this.#load.slots;
    const inverseWeight = this.#load.inverseWeight;
    const ties = this.#ties;
    let best = Number.POSITIVE_INFINITY;
    let count = 0;
    for (let i = 0; i < slots.length; i++) {
      if (excluded(instances[i]!)) continue;
      const score = counts[slots[i]!]! * inverseWeight[i]!;
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
 * broken at random by weight. The choice that steers away from a slow instance fastest (its
 * requests pile up).
 *
 * With equal weights the pick is exact and O(1) at any fleet size: it reads the service's
 * instances sorted by in-flight count, which core's LoadStats keeps sorted from the first such
 * picker on (one or two swaps per request start and end). With unequal weights, and when the
 * service's figures hold more than 64 instances outside the snapshot, a fleet of up to 64 is
 * scanned (exact, O(n)) and a larger one takes the least loaded of 8 instances sampled by weight.
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
