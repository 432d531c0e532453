import {
  describeValue,
  type InstanceSnapshot,
  type ServiceInstance,
  ValidationError,
  weightOf,
} from '@switchyard/core';
import { type Balancer, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { requireHashKey } from './hash-key.ts';
import { isPrime, MAX_TABLE_SIZE, MaglevTable } from './maglev-table.ts';
import { hashInto, hashSlot, murmur3Int } from './murmur3.ts';

/** Table lookups for a key whose owner is excluded, before the exact draw among the allowed. */
const REHASHES = 8;

export interface MaglevOptions {
  /**
   * Lookup-table entries: a prime in 3..16,777,259, ideally ≥ 100 × instances. Default: sized to
   * the fleet, see `defaultTableSize`. Pin it (Envoy uses 65537) when keys must never move
   * because the fleet crossed a size step.
   */
  tableSize?: number;
}

/** The largest table the default sizing picks: 1,048,583 entries (4 MiB at most). */
export const DEFAULT_TABLE_CAP = 1_048_583;

/** Primes just above 2⁸ … 2²⁰: the default table sizes, a fixed ladder every client agrees on. */
const TABLE_LADDER = [
  257,
  521,
  1_031,
  2_053,
  4_099,
  8_209,
  16_411,
  32_771,
  65_537,
  131_101,
  262_147,
  524_309,
  DEFAULT_TABLE_CAP,
];

/**
 * The default table size for `n` instances: the smallest prime of a fixed ladder (primes just
 * above powers of two, 257 … 1,048,583) that is ≥ 100·n, Maglev's rule for an even spread.
 * A pure function of the fleet size, so every client builds the same table; it changes (and
 * moves most keys) only when the fleet crosses a step, about every doubling, never with weights.
 * Above 10,485 instances it stays at the cap, 1,048,583.
 */
export function defaultTableSize(n: number): number {
  for (const size of TABLE_LADDER) if (size >= 100 * n) return size;
  return DEFAULT_TABLE_CAP;
}

class MaglevPicker implements Picker {
  readonly #table: MaglevTable;
  readonly #weights: Float64Array;
  readonly #service: string;

  constructor(service: string, table: MaglevTable) {
    this.#service = service;
    this.#table = table;
    this.#weights = Float64Array.from(table.members, weightOf);
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const table = this.#table;
    hashInto(requireHashKey(context?.hashKey, 'maglev', this.#service), 0);
    const hash = hashSlot[0]!;
    const members = table.members;
    const owner = table.ownerAt(hash % table.size);
    const excluded = context?.excluded;
    if (!excluded || !excluded(members[owner]!)) return members[owner];
    // Rehash the key, not walk the table: each rehash lands on an entry at random, so an
    // excluded instance's keys spread over the others by their table shares (by weight), the
    // same way on every client. (The owners of the following entries are not independent of
    // the excluded one's: walking on gave one neighbour 0.6 of a 0.25 share in a test.)
    for (let round = 1; round < REHASHES; round++) {
      const next = table.ownerAt(murmur3Int(round, hash) % table.size);
      if (!excluded(members[next]!)) return members[next];
    }
    return this.#drawAllowed(hash, excluded);
  }

  /** When most of the table is excluded: a draw by weight among the allowed, fixed by the key's hash. */
  #drawAllowed(hash: number, excluded: (instance: ServiceInstance) => boolean): ServiceInstance | undefined {
    const members = this.#table.members;
    const weights = this.#weights;
    let total = 0;
    for (let i = 0; i < members.length; i++) if (!excluded(members[i]!)) total += weights[i]!;
    if (total === 0) return undefined;
    let r = (murmur3Int(REHASHES, hash) / 4_294_967_296) * total;
    let last: ServiceInstance | undefined;
    for (let i = 0; i < members.length; i++) {
      if (excluded(members[i]!)) continue;
      last = members[i];
      r -= weights[i]!;
      if (r < 0) return last;
    }
    return last;
  }
}

/**
 * Maglev hashing (Google's Maglev load balancer, as in Envoy): a prime-sized lookup table filled
 * from each instance's permutation, built once per snapshot. A lookup is one hash and one read;
 * instances get table shares within one entry of their weight share (far evener than a ring),
 * at the cost of somewhat more keys moving when membership changes. Every call must carry a
 * `hashKey`; a pick without one throws `ValidationError('hashKey', …)`.
 *
 * @example
 * const client = new ServiceDiscoveryClient({ registry, services: { sessions: { balancer: maglev() } } });
 */
export function maglev(options: MaglevOptions = {}): Balancer {
  const tableSize = options.tableSize;
  if (
    tableSize !== undefined &&
    (!Number.isInteger(tableSize) || tableSize < 3 || tableSize > MAX_TABLE_SIZE || !isPrime(tableSize))
  ) {
    throw new ValidationError(
      'tableSize',
      `expected a prime in 3..${MAX_TABLE_SIZE} (e.g. 65537), got ${describeValue(tableSize)}`,
    );
  }
  return Object.freeze({
    name: 'maglev',
    requiresHashKey: true,
    build(snapshot: InstanceSnapshot): Picker {
      const instances = snapshot.instances;
      if (instances.length === 0) return emptyPicker;
      // A pinned table smaller than the fleet would leave instances out: grow it.
      const size =
        tableSize === undefined
          ? Math.max(defaultTableSize(instances.length), nextPrime(instances.length))
          : instances.length > tableSize
            ? nextPrime(Math.min(instances.length * 100, MAX_TABLE_SIZE))
            : tableSize;
      return new MaglevPicker(snapshot.service, new MaglevTable(instances, size));
    },
  });
}

function nextPrime(n: number): number {
  while (!isPrime(n)) n++;
  return n;
}
