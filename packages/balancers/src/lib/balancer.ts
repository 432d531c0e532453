import type { InstanceSnapshot, LoadStats, ServiceInstance } from '@switchyard/core';

/** What one pick may know about the call. Callers reuse one context across a call's attempts. */
export interface PickContext {
  /** Key for affinity strategies (consistent hash, Maglev). */
  hashKey?: string | undefined;
  /**
   * Instances this pick must not return: tried already in this call, ejected, breaker open.
   * Strategies skip them and fall through to the next candidate they would have chosen.
   */
  excluded?: ((instance: ServiceInstance) => boolean) | undefined;
}

/**
 * An immutable picker built from one snapshot. `pick` is synchronous, O(1) or O(log n), and
 * allocates nothing; `undefined` means no instance can take the call.
 */
export interface Picker {
  pick(context?: PickContext): ServiceInstance | undefined;
  /**
   * Set by pickers whose choice drifts with time (slow start ramps weights): the owner should
   * build a new picker from the same snapshot after this many ms.
   */
  readonly refreshAfterMs?: number;
}

/** What a strategy gets when it builds a picker for a new snapshot. */
export interface BuildContext {
  /** Live in-flight and latency figures of the service's instances. */
  readonly load: LoadStats;
  /** The picker this one replaces, to carry state across snapshots (rotation position…). */
  readonly previous?: Picker | undefined;
  /**
   * Whether an instance is healthy now (not ejected, breaker not open). Strategies that weigh
   * health across groups (locality, slow start after an ejection) read it; the owner builds a
   * new picker when it changes. Absent: every instance is healthy.
   */
  readonly isHealthy?: ((instance: ServiceInstance) => boolean) | undefined;
}

/**
 * A balancing strategy. It holds no per-service state: all of it lives in the pickers it
 * builds, once per snapshot, so one strategy object can serve many services.
 *
 * @example
 * const picker = roundRobin().build(snapshot, { load: new LoadStats() });
 * const instance = picker.pick();
 */
export interface Balancer {
  readonly name: string;
  /** Whether picks need a `hashKey`; the client rejects calls without one up front. */
  readonly requiresHashKey?: boolean;
  /** Time constant for the latency EWMA this strategy reads, when it reads one. */
  readonly latencyDecayMs?: number;
  build(snapshot: InstanceSnapshot, context: BuildContext): Picker;
}

/** A picker for an empty snapshot. */
export const emptyPicker: Picker = Object.freeze({ pick: () => undefined });
