import {
  type Clock,
  type InstanceSnapshot,
  type LoadStats,
  type ServiceInstance,
  ValidationError,
  weightOf,
} from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { randomIndex } from './fast-random.ts';
import { type InstanceLoad, instanceLoad } from './instance-load.ts';
import { TwoChoicesPicker } from './two-choices.ts';

/**
 * An instance that loses this many comparisons in a row wins the next: a probe. A shunned
 * instance gets ~1 in 400 requests of a fleet of three, enough for fresh answers to bring it back
 * within a few probes once it is fast, too few to move a p99.
 */
const PROBE_AFTER_LOSSES = 256;

export interface PeakEwmaOptions {
  /** Time constant of the latency EWMA, in ms (Finagle's default: 10 s). */
  decayMs?: number;
  /**
   * The most load can multiply an instance's latency by: one carrying every request in flight
   * costs up to this many times its latency, an idle one about 1×. So an instance more than this
   * many times slower than its rival is never picked over it, and in-flight counts decide between
   * instances within this factor of each other. 1: latency alone; `Infinity`: Finagle's
   * `latency × (in flight + 1)`, where load outweighs any latency. Default 2.
   */
  maxLoadFactor?: number;
  /**
   * @deprecated Picks read no clock (they compare the stats' `relativeLatency`); accepted and
   * ignored, so that code written for earlier versions still builds.
   */
  clock?: Clock;
}

class PeakEwmaPicker extends TwoChoicesPicker {
  /** Each instance's slot in the service's compact counts and relative latencies. */
  readonly #slots: Int32Array;
  readonly #service: LoadStats;
  /** 1 / mean weight: the request being placed, as a share of an average instance. */
  readonly #placing: number;
  /** Per instance, (maxLoadFactor − 1) / weight: what each of its requests in flight adds. */
  readonly #perRequest: Float64Array;
  /** (maxLoadFactor − 1) × placing: what the request being placed adds, wherever it goes. */
  readonly #placed: number;
  /** 1, or 0 when the load factor is infinite (Finagle's product has no service term). */
  readonly #serviceScale: number;
  /** Comparisons each instance has lost since it last won one. */
  readonly #losses: Uint32Array;
  /** Equal weights and more than one instance: the pick can take the inline path. */
  readonly #plain: boolean;
  /** With equal weights, what each request in flight adds on any instance: no array to read. */
  readonly #uniformPerRequest: number;

  constructor(instances: readonly ServiceInstance[], load: InstanceLoad, maxLoadFactor: number) {
    super(instances);
    this.#slots = load.slots;
    this.#service = load.service;
    const finite = Number.isFinite(maxLoadFactor);
    const loadScale = finite ? maxLoadFactor - 1 : 1;
    this.#serviceScale = finite ? 1 : 0;
    let total = 0;
    for (const instance of instances) total += weightOf(instance);
    this.#placing = instances.length / total;
    this.#placed = loadScale * this.#placing;
    this.#perRequest = load.inverseWeight.map((inverse) => loadScale * inverse);
    this.#losses = new Uint32Array(instances.length);
    const inverse = load.inverseWeight;
    this.#plain = instances.length > 1 && inverse.every((value) => value === inverse[0]);
    this.#uniformPerRequest = this.#perRequest[0] ?? 0;
  }

  /** The common case inline (equal weights, nothing excluded): two distinct uniform draws. */
  override pick(context?: PickContext): ServiceInstance | undefined {
    if (!this.#plain || context?.excluded !== undefined) return super.pick(context);
    const instances = this.instances;
    const n = instances.length;
    const a = randomIndex(n);
    const r = randomIndex(n - 1);
    const perRequest = this.#uniformPerRequest;
    return instances[this.#compare(a, r + 1 + ((r - a) >> 31), perRequest, perRequest)];
  }

  /** The shared two-choices path (weights differ, or instances are excluded). */
  protected better(a: number, b: number): number {
    const perRequest = this.#perRequest;
    return this.#compare(a, b, perRequest[a]!, perRequest[b]!);
  }

  /**
   * The lower latency × (1 + (maxLoadFactor − 1) × share) wins, where share is the instance's
   * part of the service's requests in flight, the one being placed included:
   * (in flight / weight + 1 / mean weight) ÷ (service in flight + instances) / mean weight.
   * With equal weights: (in flight + 1) ÷ (service in flight + instances). Measured latency
   * already includes the queueing that load causes; Finagle's latency × (in flight + 1) counts it
   * a second time, so that at 30 in flight a 6 ms instance costs more than an idle 20 ms one.
   * Counting the request being placed per mean weight, not per own weight, makes two idle
   * instances of the same latency a tie, so an idle fleet gets its weight shares.
   *
   * Latencies are compared as the stats' relativeLatency: their ratio is the ratio of the two
   * decayed estimates now, so a pick reads no clock and computes no exponential. Both figures of
   * both instances come from the service's compact arrays, not from an object per instance.
   */
  #compare(a: number, b: number, perRequestA: number, perRequestB: number): number {
    const service = this.#service;
    const counts = service.inflightCounts;
    const relative = service.relativeLatencies;
    const slotA = this.#slots[a]!;
    const slotB = this.#slots[b]!;
    // An instance without samples (or whose estimate has decayed to nothing) is neutral: it
    // borrows its rival's latency, so in-flight counts decide (a zero would flood a newcomer; a
    // penalty would starve it).
    let la = relative[slotA]!;
    let lb = relative[slotB]!;
    if (!(la > 0)) la = lb > 0 ? lb : 1;
    if (!(lb > 0)) lb = la;
    // Both costs × (service in flight + instances) / mean weight, which saves a division.
    const base =
      this.#serviceScale * (service.totalInflight + this.instances.length) * this.#placing + this.#placed;
    const costA = la * (base + perRequestA * counts[slotA]!);
    const costB = lb * (base + perRequestB * counts[slotB]!);
    // Which of the two wins is a coin toss the CPU cannot predict: no branch on it.
    const bWins = +(costB < costA);
    const winner = a + ((b - a) & -bWins);
    const loser = a + b - winner;
    // One that has lost PROBE_AFTER_LOSSES comparisons in a row wins instead: a probe.
    const losses = this.#losses;
    if (++losses[loser]! < PROBE_AFTER_LOSSES) {
      losses[winner] = 0;
      return winner;
    }
    losses[loser] = 0;
    return loser;
  }
}

/**
 * Peak-EWMA (after Finagle): of two random instances, the one with the lower
 * `latency EWMA × (1 + (maxLoadFactor − 1) × its share of the service's requests in flight)`,
 * shares per unit of weight. Latency decides; load breaks ties between instances within
 * `maxLoadFactor` (2) of each other's latency, so a 20 ms instance beside 6 ms ones is left alone
 * (but for probes) while they answer within 10 ms, however many requests they carry, where
 * Finagle's `latency × (in flight + 1)` sent it ~4–9 % of requests at 64 in flight.
 *
 * The EWMA jumps up at once on a slow answer (to at most twice the instance's mean, so a hiccup
 * never outbids a steadily slow instance) and comes down with faster answers and with time
 * (`decayMs`): the picker reacts to a slowdown within one request and forgets a lone spike
 * within a couple of dozen answers. An instance that loses 256 comparisons in a row wins the
 * next, so one it shuns is probed and comes back once fast. Best when instances differ in speed.
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
  const maxLoadFactor = options.maxLoadFactor ?? 2;
  if (typeof maxLoadFactor !== 'number' || Number.isNaN(maxLoadFactor) || maxLoadFactor < 1) {
    throw new ValidationError(
      'maxLoadFactor',
      `must be a number ≥ 1 (Infinity for Finagle's product), got ${String(maxLoadFactor)}`,
    );
  }
  return Object.freeze({
    name: 'peakEwma',
    latencyDecayMs: decayMs,
    build(snapshot: InstanceSnapshot, { load }: BuildContext): Picker {
      const instances = snapshot.instances;
      if (instances.length === 0) return emptyPicker;
      return new PeakEwmaPicker(instances, instanceLoad(instances, load), maxLoadFactor);
    },
  });
}
