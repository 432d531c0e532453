import { type ServiceInstance, ValidationError, weightOf } from '@switchyard/core';
import { murmur3 } from './murmur3.ts';

/** The largest prime table Switchyard builds (Envoy's limit is 5,000,011). */
export const MAX_TABLE_SIZE = 16_777_259;

const OFFSET_SEED = 0x9e37_79b9;
const SKIP_SEED = 0x85eb_ca6b;

/**
 * The Maglev lookup table (Eisenbud et al., NSDI 2016) with Envoy's weighted turns. Each
 * instance walks its own permutation of the slots, `offset + j·skip (mod size)`, from two hashes
 * of its id; in turn, each claims its next free slot. Weighted: per round an instance takes a
 * turn only when its claimed slots lag its weight relative to the heaviest one.
 *
 * @example
 * const table = new MaglevTable(snapshot.instances, 65_537);
 * const instance = table.members[table.ownerAt(murmur3('user-42') % table.size)];
 */
export class MaglevTable {
  readonly members: readonly ServiceInstance[];
  readonly size: number;
  /** Owner index per entry, in the narrowest array that holds the fleet (1, 2 or 4 bytes). */
  readonly #owners: Uint8Array | Uint16Array | Uint32Array;

  constructor(members: readonly ServiceInstance[], size: number) {
    // A composite size lets a permutation cycle short of the whole table: the fill would never end.
    if (!Number.isInteger(size) || size < 3 || size > MAX_TABLE_SIZE || !isPrime(size)) {
      throw new ValidationError(
        'tableSize',
        `expected a prime in 3..${MAX_TABLE_SIZE} (e.g. 65537), got ${String(size)}`,
      );
    }
    this.members = members;
    this.size = size;
    const n = members.length;
    // The largest value of the array marks a free entry while filling.
    const owners =
      n < 0xff ? new Uint8Array(size) : n < 0xffff ? new Uint16Array(size) : new Uint32Array(size);
    const free = n < 0xff ? 0xff : n < 0xffff ? 0xffff : 0xffff_ffff;
    owners.fill(free);
    const next = new Float64Array(n);
    const skip = new Float64Array(n);
    const weight = new Float64Array(n);
    const target = new Float64Array(n);
    let heaviest = 0;
    for (let i = 0; i < n; i++) {
      const id = members[i]!.id;
      next[i] = murmur3(id, OFFSET_SEED) % size;
      skip[i] = (murmur3(id, SKIP_SEED) % (size - 1)) + 1;
      weight[i] = weightOf(members[i]!);
      if (weight[i]! > heaviest) heaviest = weight[i]!;
    }
    for (let i = 0; i < n; i++) weight[i] = weight[i]! / heaviest;
    let filled = n === 0 ? size : 0; // no members: every entry stays free
    for (let round = 1; filled < size; round++) {
      for (let i = 0; i < n && filled < size; i++) {
        if (round * weight[i]! < target[i]!) continue;
        target[i]! += 1;
        let slot = next[i]!;
        while (owners[slot] !== free) slot = (slot + skip[i]!) % size;
        owners[slot] = i;
        next[i] = (slot + skip[i]!) % size;
        filled++;
      }
    }
    this.#owners = owners;
  }

  /** Index in `members` of the instance owning table entry `slot`; -1 in a table without members. */
  ownerAt(slot: number): number {
    return this.members.length === 0 ? -1 : this.#owners[slot]!;
  }

  /** Entries owned by each member, in member order (for spread checks). */
  counts(): Int32Array {
    const counts = new Int32Array(this.members.length);
    for (let slot = 0; slot < this.size; slot++) counts[this.#owners[slot]!]!++;
    return counts;
  }
}

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}
