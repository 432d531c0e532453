import type { ServiceInstance } from './service-instance.ts';

/**
 * A frozen, versioned view of one service's instances. A change publishes a new snapshot;
 * balancers derive their structures from one snapshot and never see it change under them.
 */
export interface InstanceSnapshot {
  readonly service: string;
  /** Grows by one with every published change of this service's view. */
  readonly version: number;
  readonly instances: readonly ServiceInstance[];
  readonly byId: ReadonlyMap<string, ServiceInstance>;
}

/** Freezes `instances` (sorted by id, so equal sets give equal snapshots) into a snapshot. */
export function createSnapshot(
  service: string,
  instances: readonly ServiceInstance[],
  version: number,
): InstanceSnapshot {
  const sorted = Object.freeze([...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  const byId = new Map(sorted.map((instance) => [instance.id, instance] as const));
  return Object.freeze({ service, version, instances: sorted, byId });
}

/** True when both lists hold the same instances with the same fields, in any order. */
export function sameInstances(a: readonly ServiceInstance[], b: readonly ServiceInstance[]): boolean {
  if (a.length !== b.length) return false;
  const byId = new Map(a.map((instance) => [instance.id, instance] as const));
  return b.every((instance) => {
    const other = byId.get(instance.id);
    return other !== undefined && sameInstance(other, instance);
  });
}

function sameInstance(a: ServiceInstance, b: ServiceInstance): boolean {
  if (a === b) return true;
  return (
    a.service === b.service &&
    a.host === b.host &&
    a.port === b.port &&
    (a.secure ?? false) === (b.secure ?? false) &&
    (a.weight ?? 1) === (b.weight ?? 1) &&
    a.zone === b.zone &&
    (a.status ?? 'up') === (b.status ?? 'up') &&
    sameRecord(a.metadata, b.metadata)
  );
}

function sameRecord(a?: Readonly<Record<string, string>>, b?: Readonly<Record<string, string>>): boolean {
  const ak = a ? Object.keys(a) : [];
  const bk = b ? Object.keys(b) : [];
  return ak.length === bk.length && ak.every((key) => a?.[key] === b?.[key]);
}
