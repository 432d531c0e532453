import { type InstanceSnapshot, type ServiceInstance, ValidationError } from '@switchyard/core';
import { type Balancer, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { requireHashKey } from './hash-key.ts';
import { isPrime, MAX_TABLE_SIZE, MaglevTable } from './maglev-table.ts';
import { hashInto, hashSlot } from './murmur3.ts';
import { VisitMarks } from './visit-marks.ts';

export interface MaglevOptions {
  /** Lookup-table entries: a prime, ideally ≥ 100 × instances. Default 65537. */
  tableSize?: number;
}

class MaglevPicker implements Picker {
  readonly #table: MaglevTable;
  readonly #marks: VisitMarks;
  readonly #service: string;

  constructor(service: string, table: MaglevTable) {
    this.#service = service;
    this.#table = table;
    this.#marks = new VisitMarks(table.members.length);
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const table = this.#table;
    hashInto(requireHashKey(context?.hashKey, 'maglev', this.#service), 0);
    const slot = hashSlot[0]! % table.size;
    const members = table.members;
    const owner = table.ownerAt(slot);
    const excluded = context?.excluded;
    if (!excluded || !excluded(members[owner]!)) return members[owner];
    // The following entries belong to instances in permutation order, so an excluded
    // instance's keys spread over all the others, the same way on every client.
    const marks = this.#marks;
    marks.begin();
    marks.first(owner);
    const n = members.length;
    let seen = 1;
    for (let k = 1, i = slot + 1; k < table.size && seen < n; k++, i++) {
      if (i === table.size) i = 0;
      const next = table.ownerAt(i);
      if (!marks.first(next)) continue;
      seen++;
      if (!excluded(members[next]!)) return members[next];
    }
    return undefined;
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
  const tableSize = options.tableSize ?? 65_537;
  if (!Number.isInteger(tableSize) || tableSize < 3 || tableSize > MAX_TABLE_SIZE || !isPrime(tableSize)) {
    throw new ValidationError(
      'tableSize',
      `expected a prime in 3..${MAX_TABLE_SIZE} (e.g. 65537), got ${String(tableSize)}`,
    );
  }
  return Object.freeze({
    name: 'maglev',
    requiresHashKey: true,
    build(snapshot: InstanceSnapshot): Picker {
      const instances = snapshot.instances;
      if (instances.length === 0) return emptyPicker;
      // A table smaller than the fleet would leave instances out: grow it (Maglev wants ≥ 100×).
      const size =
        instances.length > tableSize
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
