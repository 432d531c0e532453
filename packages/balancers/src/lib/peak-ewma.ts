import {
  type Clock,
  type InstanceSnapshot,
  type InstanceStats,
  type ServiceInstance,
  systemClock,
  ValidationError,
  weightOf,
} from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type Picker } from './balancer.ts';
import { type InstanceLoad, instanceLoad } from './instance-load.ts';
import { TwoChoicesPicker } from './two-choices.ts';

/** Below this (ms) latencies count as equal, so in-flight counts still decide between fast instances. */
const LATENCY_FLOOR_MS = 0.001;

export interface PeakEwmaOptions {
  /** Time constant of the latency EWMA, in ms (Finagle's default: 10 s). */
  decayMs?: number;
  /** Where "now" comes from when reading the decayed estimate; tests pass a ManualClock. */
  clock?: Clock;
}

class PeakEwmaPicker extends TwoChoicesPicker {
  readonly #load: InstanceLoad;
  readonly #clock: Clock;
  /** 1 / mean weight: the request being placed, as a share of an average instance. */
  readonly #placing: number;

  constructor(instances: readonly ServiceInstance[], load: InstanceLoad, clock: Clock) {
    super(instances);
    this.#load = load;
    this.#clock = clock;
    let total = 0;
    for (const instance of instances) total += weightOf(instance);
    this.#placing = instances.length / total;
  }

  /**
   * The lower latency × (in flight / weight + 1 / mean weight) wins: with equal weights that is
   * Finagle's latency × (in flight + 1). Counting the request being placed per mean weight, not
   * per own weight, makes two idle instances of the same latency a tie, so an idle fleet gets
   * its weight shares (from the weighted draw) instead of everything going to the heavier one.
   */
  protected better(a: number, b: number): number {
    const { stats, inverseWeight } = this.#load;
    const sa = stats[a]!;
    const sb = stats[b]!;
    const now = this.#clock.now();
    // An instance without samples is neutral: it borrows its rival's latency, so in-flight
    // counts decide (a zero would flood a newcomer; a penalty would starve it).
    let la = sa.samples === 0 ? -1 : latency(sa, now);
    let lb = sb.samples === 0 ? -1 : latency(sb, now);
    if (la < 0) la = lb < 0 ? 1 : lb;
    if (lb < 0) lb = la;
    const placing = this.#placing;
    const costA = la * (sa.inflight * inverseWeight[a]! + placing);
    const costB = lb * (sb.inflight * inverseWeight[b]! + placing);
    return costB < costA ? b : a;
  }
}

function latency(stats: InstanceStats, now: number): number {
  const estimate = stats.latencyEstimate(now);
  return estimate > LATENCY_FLOOR_MS ? estimate : LATENCY_FLOOR_MS;
}

/**
 * Peak-EWMA (Finagle): of two random instances, the one with the lower
 * `latency EWMA × (in-flight + 1) / weight`. The EWMA jumps up at once on a slow answer and
 * decays over `decayMs`, so the picker reacts to a slowdown within one request and drifts back
 * to an instance once it recovers. Best when instances differ in speed (GC pauses, noisy hosts).
 *
 * @example
 * const client = new ServiceDiscoveryClient({ registry, balancer: peakEwma({ decayMs: 5_000 }) });
 */
export function peakEwma(options: PeakEwmaOptions = {}): Balancer {
  const decayMs = options.decayMs ?? 10_000;
  if (typeof decayMs !== 'number' || !Number.isFinite(decayMs) || decayMs <= 0) {
    throw new ValidationError(
      'decayMs',
      `must be a finite number of milliseconds > 0, got ${String(decayMs)}`,
    );
  }
  const clock = options.clock ?? systemClock;
  return Object.freeze({
    name: 'peakEwma',
    latencyDecayMs: decayMs,
    build(snapshot: InstanceSnapshot, { load }: BuildContext): Picker {
      const instances = snapshot.instances;
      if (instances.length === 0) return emptyPicker;
      return new PeakEwmaPicker(instances, instanceLoad(instances, load), clock);
    },
  });
}
