import { type InstanceStats, type LoadStats, type ServiceInstance, weightOf } from '@switchyard/core';

/**
 * What load-aware pickers read, laid out once per snapshot so that a pick only indexes arrays:
 * each instance's live stats (shared with the executor, which updates them) and 1 / weight.
 */
export interface InstanceLoad {
  readonly stats: readonly InstanceStats[];
  readonly inverseWeight: Float64Array;
  /** The whole service's figures, for its O(1) in-flight total. */
  readonly service: LoadStats;
}

export function instanceLoad(instances: readonly ServiceInstance[], load: LoadStats): InstanceLoad {
  const inverseWeight = new Float64Array(instances.length);
  for (let i = 0; i < instances.length; i++) inverseWeight[i] = 1 / weightOf(instances[i]!);
  return { stats: instances.map((instance) => load.of(instance)), inverseWeight, service: load };
}
