import { type InstanceStats, type LoadStats, type ServiceInstance, weightOf } from '@switchyard/core';

/**
 * What load-aware pickers read, laid out once per snapshot so that a pick only indexes arrays:
 * each instance's slot in the service's compact in-flight counts (`service.inflightCounts`, read
 * at each pick since it is replaced when the service grows), its live stats (shared with the
 * executor, which updates them) and 1 / weight.
 */
export interface InstanceLoad {
  /** By instance index: where its in-flight count sits in `service.inflightCounts`. */
  readonly slots: Int32Array;
  readonly stats: readonly InstanceStats[];
  readonly inverseWeight: Float64Array;
  /** The whole service's figures: its in-flight counts and their O(1) total. */
  readonly service: LoadStats;
}

export function instanceLoad(instances: readonly ServiceInstance[], load: LoadStats): InstanceLoad {
  const inverseWeight = new Float64Array(instances.length);
  const slots = new Int32Array(instances.length);
  const stats = instances.map((instance, i) => {
    inverseWeight[i] = 1 / weightOf(instance);
    slots[i] = load.slotOf(instance);
    return load.of(instance);
  });
  return { slots, stats, inverseWeight, service: load };
}
