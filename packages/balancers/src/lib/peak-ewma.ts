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
  /** The last clock reading, kept unboxed: a pick reads the clock only when it is out of date. */
  readonly #time = new Float64Array([Number.NEGATIVE_INFINITY]);
  /** Each instance's sample count when it was last compared: all its samples predate #time. */
  readonly #seen: Float64Array;
  /** Each instance's latency estimate at #estimatedAt: recomputed only when the reading changes. */
  readonly #estimates: Float64Array;
  readonly #estimatedAt: Float64Array;

  constructor(instances: readonly ServiceInstance[], load: InstanceLoad, clock: Clock) {
    super(instances);
    this.#load = load;
    this.#clock = clock;
    let total = 0;
    for (const instance of instances) total += weightOf(instance);
    this.#placing = instances.length / total;
    this.#seen = new Float64Array(instances.length).fill(-1);
    this.#estimates = new Float64Array(instances.length);
    this.#estimatedAt = new Float64Array(instances.length).fill(Number.NaN);
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
    // The comparison depends only on the two estimates' ratio, which is the same at any time at
    // or after both latest samples (both decay by the same factor). So the last clock reading
    // serves while neither has a sample it has not seen; a clock read costs ~70 ns.
    const seen = this.#seen;
    const time = this.#time;
    if (seen[a] !== sa.samples || seen[b] !== sb.samples) {
      time[0] = this.#clock.now();
      seen[a] = sa.samples;
      seen[b] = sb.samples;
      // A new sample changes the estimate even when the clock reads the same.
      this.#estimatedAt[a] = Number.NaN;
      this.#estimatedAt[b] = Number.NaN;
    }
    // Read back from the typed array, never from the call: one tagged source would make V8 box
    // this double on every pick (16 B).
    const now = time[0]!;
    // An instance without samples is neutral: it borrows its rival's latency, so in-flight
    // counts decide (a zero would flood a newcomer; a penalty would starve it).
    // Estimates at this reading are cached: a steady picker hands no unboxed time to the stats,
    // which allocates a heap number whenever V8 does not inline the call.
    const estimates = this.#estimates;
    const estimatedAt = this.#estimatedAt;
    if (estimatedAt[a] !== now) this.#estimate(a, sa);
    if (estimatedAt[b] !== now) this.#estimate(b, sb);
    let la = sa.samples === 0 ? -1 : estimates[a]!;
    let lb = sb.samples === 0 ? -1 : estimates[b]!;
    if (la < 0) la = lb < 0 ? 1 : lb;
    if (lb < 0) lb = la;
    const placing = this.#placing;
    const costA = la * (sa.inflight * inverseWeight[a]! + placing);
    const costB = lb * (sb.inflight * inverseWeight[b]! + placing);
    return costB < costA ? b : a;
  }

  /** Caches instance `i`'s latency estimate at the current reading. */
  #estimate(i: number, stats: InstanceStats): void {
    const now = this.#time[0]!;
    this.#estimates[i] = stats.samples === 0 ? 0 : latency(stats, now);
    this.#estimatedAt[i] = now;
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
