import {
  type Clock,
  createSnapshot,
  type InstanceSnapshot,
  type ServiceInstance,
  systemClock,
  ValidationError,
  weightOf,
} from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';

/** Options of {@link slowStart} (Envoy's `slow_start_config`). */
export interface SlowStartOptions {
  /** How long a newcomer's weight ramps up. */
  readonly windowMs: number;
  /** Curve shape: 1 is linear; above 1 ramps faster at first. Default 1. */
  readonly aggression?: number;
  /** The weight a newcomer starts from, as a percentage of its full weight. Default 10. */
  readonly minWeightPercent?: number;
  /** How often the ramp moves (a new picker is built). Default windowMs / 10, at least 100 ms. */
  readonly stepMs?: number;
  readonly clock?: Clock;
}

class SlowStartPicker implements Picker {
  readonly refreshAfterMs: number | undefined;
  /** When each instance started its ramp (−∞: it needs none). */
  readonly since: ReadonlyMap<string, number>;
  /** Which instances were healthy at this build: one that turns healthy again ramps anew. */
  readonly healthy: ReadonlySet<string>;
  /** The wrapped strategy's picker, handed on as `previous` to keep its state (rotation…). */
  readonly inner: Picker;
  readonly #originals: InstanceSnapshot | undefined;

  constructor(
    inner: Picker,
    originals: InstanceSnapshot | undefined,
    since: ReadonlyMap<string, number>,
    healthy: ReadonlySet<string>,
    refreshAfterMs: number | undefined,
  ) {
    this.inner = inner;
    this.#originals = originals;
    this.since = since;
    this.healthy = healthy;
    this.refreshAfterMs = refreshAfterMs;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const picked = this.inner.pick(context);
    // The inner picker saw copies with ramped weights: hand back the instance itself.
    return picked === undefined || this.#originals === undefined
      ? picked
      : (this.#originals.byId.get(picked.id) ?? picked);
  }
}

/**
 * Envoy's slow start around any weight-aware strategy: an instance new to the service, or back
 * from an ejection or open breaker, starts at `minWeightPercent` of its weight and ramps to
 * all of it over `windowMs`: weight × max(min%, (age / window)^(1 / aggression)). Strategies
 * that ignore weights (`roundRobin`, `random`) are not slowed.
 *
 * Nothing ramps when every instance is new (a first list, a whole-fleet restart): slowing all
 * of them equally would change nothing but the totals, as Envoy notes.
 *
 * @example
 * const balancer = slowStart(leastConnections(), { windowMs: 30_000 });
 */
export function slowStart(inner: Balancer, options: SlowStartOptions): Balancer {
  const { windowMs } = options;
  if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs <= 0) {
    throw new ValidationError('slowStart.windowMs', `expected milliseconds > 0, got ${String(windowMs)}`);
  }
  const aggression = options.aggression ?? 1;
  if (!(aggression > 0) || !Number.isFinite(aggression)) {
    throw new ValidationError(
      'slowStart.aggression',
      `expected a finite number > 0, got ${String(aggression)}`,
    );
  }
  const minPercent = options.minWeightPercent ?? 10;
  if (!(minPercent > 0 && minPercent <= 100)) {
    throw new ValidationError(
      'slowStart.minWeightPercent',
      `expected a percentage in (0, 100], got ${String(minPercent)}`,
    );
  }
  const stepMs = options.stepMs ?? Math.max(100, windowMs / 10);
  const clock = options.clock ?? systemClock;
  const factor = (age: number) => slowStartFactor(age, windowMs, aggression, minPercent);

  return Object.freeze({
    name: `${inner.name}+slowStart`,
    ...(inner.requiresHashKey ? { requiresHashKey: true } : {}),
    ...(inner.latencyDecayMs === undefined ? {} : { latencyDecayMs: inner.latencyDecayMs }),
    build(snapshot: InstanceSnapshot, context: BuildContext): Picker {
      if (snapshot.instances.length === 0) return emptyPicker;
      const now = clock.now();
      const previous = context.previous instanceof SlowStartPicker ? context.previous : undefined;
      const isHealthy = context.isHealthy ?? (() => true);
      const known = previous ? snapshot.instances.some((instance) => previous.since.has(instance.id)) : false;
      const since = new Map<string, number>();
      const healthy = new Set<string>();
      let ramping = false;
      for (const instance of snapshot.instances) {
        const ok = isHealthy(instance);
        if (ok) healthy.add(instance.id);
        let start = previous?.since.get(instance.id);
        if (start === undefined)
          start = known ? now : Number.NEGATIVE_INFINITY; // all new: no ramp
        else if (ok && previous && !previous.healthy.has(instance.id)) start = now; // back from ejection
        since.set(instance.id, start);
        if (now - start < windowMs) ramping = true;
      }
      if (!ramping) {
        return new SlowStartPicker(
          inner.build(snapshot, { ...context, previous: previous?.inner }),
          undefined,
          since,
          healthy,
          undefined,
        );
      }
      const ramped = snapshot.instances.map((instance) => {
        const f = factor(now - (since.get(instance.id) ?? Number.NEGATIVE_INFINITY));
        return f >= 1 ? instance : { ...instance, weight: weightOf(instance) * f };
      });
      const derived = createSnapshot(snapshot.service, ramped, snapshot.version);
      return new SlowStartPicker(
        inner.build(derived, { ...context, previous: previous?.inner }),
        snapshot,
        since,
        healthy,
        stepMs,
      );
    },
  });
}

/** The ramp factor of an instance `ageMs` into its window (exported for tests and docs). */
export function slowStartFactor(
  ageMs: number,
  windowMs: number,
  aggression = 1,
  minWeightPercent = 10,
): number {
  return ageMs >= windowMs
    ? 1
    : Math.max(minWeightPercent / 100, (Math.max(0, ageMs) / windowMs) ** (1 / aggression));
}
