import { type InstanceSnapshot, type ServiceInstance, ValidationError, weightOf } from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { requireHashKey } from './hash-key.ts';
import { HashRing, type HashRingOptions } from './hash-ring.ts';
import { type InstanceLoad, instanceLoad } from './instance-load.ts';
import { VisitMarks } from './visit-marks.ts';

export interface ConsistentHashOptions {
  /** Ring points per instance of mean weight; each gets points in proportion to weight / total. Default 160. */
  virtualNodes?: number;
  /**
   * Fewest ring points, whatever the fleet (Envoy's and gRFC A42's `min_ring_size`, 1024 there).
   * Default 1: a binding minimum moves keys between staying instances on every membership change.
   */
  minRingSize?: number;
  /** Most ring points, ≤ 8,388,608 (8 bytes each). Default 8,388,608. */
  maxRingSize?: number;
  /**
   * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam): no instance takes
   * more than ⌈c · (in flight + 1) · weight share⌉ requests; a key whose owner is full walks on
   * to the next instance on the ring. `c ≥ 1`, e.g. 1.25. Off by default.
   */
  boundedLoad?: number;
}

class ConsistentHashPicker implements Picker {
  readonly #ring: HashRing;
  readonly #load: InstanceLoad | undefined;
  readonly #factor: number;
  readonly #share: Float64Array;
  readonly #marks: VisitMarks;
  readonly #service: string;

  constructor(service: string, ring: HashRing, load: InstanceLoad | undefined, factor: number) {
    this.#service = service;
    this.#ring = ring;
    this.#load = load;
    this.#factor = factor;
    let total = 0;
    for (const instance of ring.members) total += weightOf(instance);
    this.#share = Float64Array.from(ring.members, (instance) => weightOf(instance) / total);
    this.#marks = new VisitMarks(ring.members.length);
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const ring = this.#ring;
    const position = ring.locateKey(requireHashKey(context?.hashKey, 'consistentHash', this.#service));
    const members = ring.members;
    const owner = ring.ownerAt(position);
    const excluded = context?.excluded;
    if (!this.#load && (!excluded || !excluded(members[owner]!))) return members[owner];
    return this.#walk(position, excluded);
  }

  /** Walks the ring from `position` to the first instance that is allowed and, if bounded, not full. */
  #walk(position: number, excluded: PickContext['excluded']): ServiceInstance | undefined {
    const ring = this.#ring;
    const members = ring.members;
    const n = members.length;
    const load = this.#load;
    const stats = load?.stats;
    // In flight across the service, plus the request being placed: O(1), kept by LoadStats.
    const budget = load ? this.#factor * (load.service.totalInflight + 1) : 0;
    const marks = this.#marks;
    marks.begin();
    let fallback = -1;
    let seen = 0;
    const total = ring.pointCount;
    for (let k = 0, i = position; k < total && seen < n; k++, i = i + 1 === total ? 0 : i + 1) {
      const owner = ring.ownerAt(i);
      if (!marks.first(owner)) continue;
      seen++;
      if (excluded?.(members[owner]!)) continue;
      // The epsilon keeps float noise (1.25 × 1e6 × 0.01 = 12500.000000000002) from adding a slot.
      if (!stats || stats[owner]!.inflight < Math.ceil(budget * this.#share[owner]! - 1e-9))
        return members[owner];
      // Everyone allowed may be full when some are excluded: then the key's own owner takes it.
      if (fallback === -1) fallback = owner;
    }
    return fallback === -1 ? undefined : members[fallback];
  }
}

/**
 * Consistent hashing on a ring of MurmurHash3 points: calls with the same `hashKey` go to the
 * same instance while membership holds still, and a membership change moves only about
 * 1/(n+1) of the keys. Use it for cache affinity and sticky sessions. Every call must carry a
 * `hashKey`; a pick without one throws `ValidationError('hashKey', …)`.
 *
 * @example
 * const client = new ServiceDiscoveryClient({
 *   registry,
 *   services: { carts: { balancer: consistentHash({ boundedLoad: 1.25 }) } },
 * });
 * await client.request('carts', { method: 'GET', path: '/carts/42', hashKey: 'user-42' });
 */
export function consistentHash(options: ConsistentHashOptions = {}): Balancer {
  const ringOptions: HashRingOptions = {
    virtualNodes: options.virtualNodes ?? 160,
    ...(options.minRingSize === undefined ? {} : { minRingSize: options.minRingSize }),
    ...(options.maxRingSize === undefined ? {} : { maxRingSize: options.maxRingSize }),
  };
  new HashRing([], ringOptions); // validates the ring options now, not at the first snapshot
  const factor = options.boundedLoad;
  if (factor !== undefined && (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1)) {
    throw new ValidationError(
      'boundedLoad',
      `expected a finite number ≥ 1 (e.g. 1.25), got ${String(factor)}`,
    );
  }
  return Object.freeze({
    name: 'consistentHash',
    requiresHashKey: true,
    build(snapshot: InstanceSnapshot, { load }: BuildContext): Picker {
      const instances = snapshot.instances;
      if (instances.length === 0) return emptyPicker;
      const ring = new HashRing(instances, ringOptions);
      return new ConsistentHashPicker(
        snapshot.service,
        ring,
        factor === undefined ? undefined : instanceLoad(instances, load),
        factor ?? 1,
      );
    },
  });
}
