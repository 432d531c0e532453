import { describeValue, type ServiceInstance, ValidationError, validateWeight } from '@switchyard/core';
import { hashInto, hashSlot, murmur3, murmur3Int } from './murmur3.ts';
import { sortPoints } from './sort-points.ts';

/** What a ring can hold: anything with a unique id and an optional weight (default 1). */
export interface RingMember {
  readonly id: string;
  readonly weight?: number | undefined;
}

export interface HashRingOptions {
  /** Points per member of mean weight (each gets points in proportion to weight / total). Default 160. */
  virtualNodes?: number;
  /**
   * Fewest points on the ring (Envoy's and gRFC A42's `min_ring_size`, 1024 there). Default 1:
   * a minimum above `virtualNodes` × members rescales every member's points when one joins or
   * leaves, so keys would move between members that stay.
   */
  minRingSize?: number;
  /** Most points on the ring, ≤ 8,388,608 (Envoy's and gRFC A42's cap and default). Default 8,388,608. */
  maxRingSize?: number;
}

/** The largest ring Envoy and gRPC (gRFC A42) allow: 8 bytes a point, so 64 MiB. */
export const MAX_RING_SIZE = 8_388_608;
const DEFAULT_MIN_RING_SIZE = 1;

/**
 * A consistent-hash ring: each member owns MurmurHash3 points in proportion to its weight, kept
 * sorted in one Uint32Array, each point beside its owner; a key belongs to the first point at or
 * after its hash. A bucket index over the top bits of the hash narrows each binary search to a
 * few points, so a lookup costs one hash and a handful of reads, and allocates nothing.
 * Immutable: build a new ring for new members (same members → same answers, always).
 *
 * Weights are relative, as in Envoy and gRFC A42: only weight / total counts, so scaling every
 * weight by a constant gives the same ring. The ring holds `virtualNodes` × members points, at
 * least `minRingSize` and at most `maxRingSize`; each member's share of them is its weight / total
 * (every member keeps at least one point).
 *
 * @example
 * const ring = new HashRing([{ id: 'cache-a' }, { id: 'cache-b' }, { id: 'cache-c', weight: 2 }]);
 * ring.get('user-42');       // the member that owns user-42
 * ring.getN('user-42', 2);   // it and the next distinct member: replicas
 * ring.ownership();          // Map { 'cache-a' => 0.25…, 'cache-b' => 0.25…, 'cache-c' => 0.5… }
 */
export class HashRing<T extends RingMember = ServiceInstance> {
  readonly members: readonly T[];
  readonly virtualNodes: number;
  /** Sorted points with their owners, interleaved: [point, owner, point, owner, …]. */
  readonly #pairs: Uint32Array;
  readonly #size: number;
  /** #buckets[b] = first point whose top bits are ≥ b. */
  readonly #buckets: Uint32Array;
  readonly #shift: number;

  constructor(members: readonly T[], options: HashRingOptions = {}) {
    const virtualNodes = options.virtualNodes ?? 160;
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1 || virtualNodes > 100_000) {
      throw new ValidationError(
        'virtualNodes',
        `expected an integer in 1..100000, got ${describeValue(virtualNodes)}`,
      );
    }
    const maxRingSize = options.maxRingSize ?? MAX_RING_SIZE;
    if (!Number.isInteger(maxRingSize) || maxRingSize < 1 || maxRingSize > MAX_RING_SIZE) {
      throw new ValidationError(
        'maxRingSize',
        `expected an integer in 1..${MAX_RING_SIZE}, got ${describeValue(maxRingSize)}`,
      );
    }
    const minRingSize = options.minRingSize ?? Math.min(DEFAULT_MIN_RING_SIZE, maxRingSize);
    if (!Number.isInteger(minRingSize) || minRingSize < 1 || minRingSize > maxRingSize) {
      throw new ValidationError(
        'minRingSize',
        `expected an integer in 1..maxRingSize (${maxRingSize}), got ${describeValue(minRingSize)}`,
      );
    }
    this.members = Object.freeze([...members]);
    this.virtualNodes = virtualNodes;
    const counts = pointCounts(this.members, virtualNodes, minRingSize, maxRingSize);
    let total = 0;
    for (const count of counts) total += count;
    const points = new Uint32Array(total);
    const owners = new Uint32Array(total);
    let at = 0;
    this.members.forEach((member, owner) => {
      // One string hash per member; its points are cheap integer hashes seeded by it.
      const seed = murmur3(member.id);
      for (let v = 0; v < counts[owner]!; v++, at++) {
        points[at] = murmur3Int(v, seed);
        owners[at] = owner;
      }
    });
    const pairs = sortPoints(points, owners);
    this.#pairs = pairs;
    this.#size = total;
    const bits = Math.min(16, Math.max(1, Math.ceil(Math.log2(total + 1))));
    this.#shift = 32 - bits;
    this.#buckets = new Uint32Array((1 << bits) + 1);
    for (let b = 0, i = 0; b <= 1 << bits; b++) {
      while (i < total && pairs[2 * i]! >>> this.#shift < b) i++;
      this.#buckets[b] = i;
    }
  }

  /** How many points the ring holds. */
  get pointCount(): number {
    return this.#size;
  }

  /** The member that owns `key`, or undefined for an empty ring. */
  get(key: string): T | undefined {
    if (this.#size === 0) return undefined;
    return this.members[this.#pairs[2 * this.locateKey(key) + 1]!];
  }

  /**
   * Up to `n` distinct members for `key`, in ring order: the owner first, then the replicas a
   * failover or a replicated write should use.
   */
  getN(key: string, n: number): T[] {
    if (!Number.isInteger(n) || n < 0) {
      throw new ValidationError('n', `expected an integer ≥ 0, got ${String(n)}`);
    }
    const wanted = Math.min(n, this.members.length);
    const result: T[] = [];
    if (wanted === 0) return result;
    const seen = new Uint8Array(this.members.length);
    const total = this.#size;
    for (let k = 0, i = this.locateKey(key); k < total && result.length < wanted; k++) {
      const owner = this.#pairs[2 * i + 1]!;
      if (seen[owner] === 0) {
        seen[owner] = 1;
        result.push(this.members[owner]!);
      }
      i = i + 1 === total ? 0 : i + 1;
    }
    return result;
  }

  /** The fraction of the 32-bit hash space each member owns, by id; the values sum to 1. */
  ownership(): Map<string, number> {
    const owned = new Float64Array(this.members.length);
    const pairs = this.#pairs;
    const total = this.#size;
    for (let i = 0; i < total; i++) {
      // Point i owns the hashes after the previous point, up to and including itself.
      const arc = i === 0 ? 2 ** 32 - pairs[2 * (total - 1)]! + pairs[0]! : pairs[2 * i]! - pairs[2 * i - 2]!;
      owned[pairs[2 * i + 1]!]! += arc;
    }
    return new Map(this.members.map((member, owner) => [member.id, owned[owner]! / 2 ** 32] as const));
  }

  /** Position (index into the ring's points) of the first point at or after `key`'s hash, wrapping. */
  locateKey(key: string): number {
    hashInto(key, 0);
    // Read back from the typed array: the hash stays a raw uint32 and nothing is boxed.
    const hash = hashSlot[0]!;
    const pairs = this.#pairs;
    const bucket = hash >>> this.#shift;
    let lo = this.#buckets[bucket]!;
    let hi = this.#buckets[bucket + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pairs[2 * mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.#size ? 0 : lo;
  }

  /** Index in `members` of the owner of the point at `position`. */
  ownerAt(position: number): number {
    return this.#pairs[2 * position + 1]!;
  }
}

/**
 * Points per member, as Envoy and gRFC A42 size a ring: in proportion to weight / total, so
 * weights are relative. The ring aims at `virtualNodes` points per member (per member of mean
 * weight), at least `minRingSize` and at most `maxRingSize` points; every member keeps one.
 * Sizing by the member count, not by the lightest member, keeps a member's points steady when
 * another joins or leaves (removing a weight-1 canary must not halve everyone's points).
 */
function pointCounts(
  members: readonly RingMember[],
  virtualNodes: number,
  minRingSize: number,
  maxRingSize: number,
): number[] {
  const ids = new Set<string>();
  const weights = members.map((member, index) => {
    if (typeof member.id !== 'string' || member.id === '') {
      throw new ValidationError(`members[${index}].id`, 'expected a non-empty string');
    }
    if (ids.has(member.id)) throw new ValidationError(`members[${index}].id`, `duplicate id "${member.id}"`);
    ids.add(member.id);
    return validateWeight(member.weight ?? 1, `members[${index}].weight`);
  });
  // Relative to the heaviest first: no sum of huge weights can overflow.
  let heaviest = 0;
  for (const weight of weights) if (weight > heaviest) heaviest = weight;
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    weights[i] = weights[i]! / heaviest;
    total += weights[i]!;
  }
  const ringSize = Math.min(Math.max(minRingSize, virtualNodes * members.length), maxRingSize);
  return weights.map((weight) => Math.max(1, Math.round((ringSize * weight) / total)));
}
