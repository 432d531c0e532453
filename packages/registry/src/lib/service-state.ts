import { isUp, type ServiceInstance } from '@switchyard/core';

/** One registration held by the in-memory registry. */
export interface Registration {
  readonly service: string;
  readonly instance: ServiceInstance;
  readonly ttlMs: number | undefined;
  /** Clock time after which the registration is dropped; Infinity without a TTL. */
  expiresAt: number;
  /** The deadline of this registration's entry in the expiry heap (Infinity: none). */
  queuedAt: number;
  /** Who may replace, renew or remove it: a digest of the registrant's owner key ('' for none). */
  readonly owner: string;
}

/** What the in-memory registry keeps per service. */
export interface ServiceState {
  readonly registrations: Map<string, Registration>;
  /**
   * The live `up` list, frozen; `undefined` after a change until someone reads it, so a burst of
   * registrations into a large service costs O(1) each, not a copy of the list each.
   */
  live: readonly ServiceInstance[] | undefined;
  /** Grows by one each time the live list changes. */
  index: number;
}

export const EMPTY: readonly ServiceInstance[] = Object.freeze([]);

export function newServiceState(): ServiceState {
  return { registrations: new Map(), live: EMPTY, index: 0 };
}

/** The service's live list, built (once per change) when it is first read. */
export function liveInstances(state: ServiceState): readonly ServiceInstance[] {
  if (state.live === undefined) {
    const live: ServiceInstance[] = [];
    for (const { instance } of state.registrations.values()) if (isUp(instance)) live.push(instance);
    state.live = live.length === 0 ? EMPTY : Object.freeze(live);
  }
  return state.live;
}
