import { isUp, type ServiceInstance } from '@switchyard/core';

/** One registration held by the in-memory registry. */
export interface Registration {
  readonly instance: ServiceInstance;
  readonly ttlMs: number | undefined;
  /** Clock time after which the registration is dropped; Infinity without a TTL. */
  expiresAt: number;
}

/** What the in-memory registry keeps per service. */
export interface ServiceState {
  readonly registrations: Map<string, Registration>;
  /** The live `up` list, frozen; replaced (never mutated) on each change. */
  live: readonly ServiceInstance[];
  /** Grows by one each time `live` changes. */
  index: number;
}

export const EMPTY: readonly ServiceInstance[] = Object.freeze([]);

export function newServiceState(): ServiceState {
  return { registrations: new Map(), live: EMPTY, index: 0 };
}

/** The registrations that take traffic (status `up`), as a fresh array. */
export function liveInstances(state: ServiceState): ServiceInstance[] {
  const live: ServiceInstance[] = [];
  for (const { instance } of state.registrations.values()) if (isUp(instance)) live.push(instance);
  return live;
}
