import type { InstanceSnapshot, ServiceInstance } from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';

class RoundRobinPicker implements Picker {
  readonly #instances: readonly ServiceInstance[];
  #next: number;

  constructor(instances: readonly ServiceInstance[], start: number) {
    this.#instances = instances;
    this.#next = start;
  }

  /** The instance the rotation would return next, to resume from after a snapshot change. */
  get upcoming(): ServiceInstance | undefined {
    return this.#instances[this.#next];
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const instances = this.#instances;
    const n = instances.length;
    const excluded = context?.excluded;
    for (let tries = 0; tries < n; tries++) {
      const instance = instances[this.#next]!;
      this.#next = this.#next + 1 === n ? 0 : this.#next + 1;
      if (!excluded || !excluded(instance)) return instance;
    }
    return undefined;
  }
}

/**
 * Each instance in turn. A first snapshot starts at a random place (so a fleet of clients does
 * not hit the same instance at once); later snapshots resume where the rotation was.
 */
export function roundRobin(): Balancer {
  return Object.freeze({
    name: 'roundRobin',
    build(snapshot: InstanceSnapshot, { previous }: BuildContext): Picker {
      const instances = snapshot.instances;
      if (instances.length === 0) return emptyPicker;
      return new RoundRobinPicker(instances, resumeIndex(instances, previous));
    },
  });
}

function resumeIndex(instances: readonly ServiceInstance[], previous: Picker | undefined): number {
  if (previous instanceof RoundRobinPicker) {
    const upcoming = previous.upcoming;
    if (upcoming) {
      // Snapshots are sorted by id: resume at the same instance, or where it would have stood.
      const index = instances.findIndex((instance) => instance.id >= upcoming.id);
      return index === -1 ? 0 : index;
    }
  }
  return Math.floor(Math.random() * instances.length);
}
