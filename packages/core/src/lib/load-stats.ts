import type { ServiceInstance } from './service-instance.ts';

/**
 * The least weight one answer below the estimate gets. A purely time-based weight (Finagle's)
 * gives each answer 1 − e^(−gap/decay): at thousands of answers a second that is ~1/100,000, so
 * one spike outweighs every faster answer after it for seconds. With this floor a lone spike is
 * forgotten after a couple of dozen faster answers, while an instance that stays slow re-raises its
 * peak with each answer; an idle instance still decays with time alone.
 */
const ANSWER_WEIGHT_FLOOR = 1 / 8;

/**
 * A peak counts for at most this many times the instance's mean latency (a plain EWMA over
 * `decayMs`). A burst of slow answers (a GC pause, a descheduled process) still makes an
 * instance lose to its usual peers at once, but never look worse than one that is slow all the
 * time: without the cap a 6 ms instance's 40 ms hiccup outbid a steady 20 ms one.
 */
const PEAK_CAP = 2;

/**
 * Live load figures for one instance, written by the executor at the start and end of each
 * attempt and read by load-aware balancers. Kept apart from the immutable snapshot so that a
 * new snapshot keeps the figures of the instances it shares with the old one.
 */
export class InstanceStats {
  /** Attempts in flight right now. */
  inflight = 0;
  /** Attempts finished, and how many of them failed. */
  completed = 0;
  failed = 0;
  /** Latency samples folded into the EWMA so far. */
  samples = 0;

  readonly #decayMs: number;
  readonly #total: { inflight: number } | undefined;
  /** The peak-sensitive estimate, and the plain time-weighted mean that caps it. */
  #cost = 0;
  #mean = 0;
  #stamp = 0;

  /**
   * @param decayMs time constant of the latency EWMA (Finagle's peak-EWMA default: 10 s).
   * @param total the service-wide running count this instance's in-flight changes add to.
   */
  constructor(decayMs = 10_000, total?: { inflight: number }) {
    this.#decayMs = decayMs;
    this.#total = total;
  }

  onStart(): void {
    this.inflight++;
    if (this.#total) this.#total.inflight++;
  }

  onEnd(now: number, latencyMs: number, ok: boolean): void {
    if (this.inflight > 0) {
      this.inflight--;
      if (this.#total) this.#total.inflight--;
    }
    this.completed++;
    if (!ok) this.failed++;
    this.observe(now, latencyMs);
  }

  /**
   * Peak-sensitive EWMA (Finagle): a sample above the average replaces it at once, so a slow
   * instance is noticed on its first slow answer; a lower sample pulls it down by a weight that
   * grows with the time since the last sample, and is never below ANSWER_WEIGHT_FLOOR, so that
   * a stream of fast answers undoes a lone spike within a couple of dozen answers, not only with
   * time. Beside it, a plain EWMA weighted by time alone (Finagle's without the peak) caps it at
   * PEAK_CAP × that mean.
   */
  observe(now: number, latencyMs: number): void {
    if (this.samples === 0) {
      this.#cost = latencyMs;
      this.#mean = latencyMs;
    } else {
      const elapsed = Math.max(now - this.#stamp, 0);
      const t = Math.exp(-elapsed / this.#decayMs);
      this.#mean = this.#mean * t + latencyMs * (1 - t);
      if (latencyMs > this.#cost) this.#cost = latencyMs;
      else {
        const w = Math.min(t, 1 - ANSWER_WEIGHT_FLOOR);
        this.#cost = this.#cost * w + latencyMs * (1 - w);
      }
      // Capped as it is kept, so that fast answers after a burst bring it down from the cap.
      const cap = PEAK_CAP * this.#mean;
      if (this.#cost > cap) this.#cost = cap;
    }
    this.#stamp = now;
    this.samples++;
  }

  /** The latency estimate at `now`, in ms, decayed toward zero while no sample arrives. */
  latencyEstimate(now: number): number {
    if (this.samples === 0) return 0;
    const elapsed = Math.max(now - this.#stamp, 0);
    return this.#cost * Math.exp(-elapsed / this.#decayMs);
  }
}

/** The InstanceStats of one service, by instance id; survives snapshot changes. */
export class LoadStats {
  readonly #byId = new Map<string, InstanceStats>();
  readonly #decayMs: number;
  readonly #total = { inflight: 0 };

  constructor(options: { decayMs?: number } = {}) {
    this.#decayMs = options.decayMs ?? 10_000;
  }

  /** The stats of `instance`, created on first use. */
  of(instance: ServiceInstance | string): InstanceStats {
    const id = typeof instance === 'string' ? instance : instance.id;
    let stats = this.#byId.get(id);
    if (!stats) {
      stats = new InstanceStats(this.#decayMs, this.#total);
      this.#byId.set(id, stats);
    }
    return stats;
  }

  /** Attempts in flight across the service: O(1), kept up by every instance's start and end. */
  get totalInflight(): number {
    return this.#total.inflight;
  }

  /** Forgets instances that left, except those with attempts still in flight. */
  retain(instances: readonly ServiceInstance[]): void {
    const keep = new Set(instances.map((instance) => instance.id));
    for (const [id, stats] of this.#byId) {
      if (!keep.has(id) && stats.inflight === 0) this.#byId.delete(id);
    }
  }
}
