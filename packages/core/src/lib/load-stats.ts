import { InflightOrder } from './inflight-order.ts';
import type { ServiceInstance } from './service-instance.ts';

/** In-flight counts shared by the InstanceStats of one LoadStats: one Int32Array slot each. */
interface InflightBoard {
  counts: Int32Array;
  /** Each slot's relativeLatency (0 before its first sample), beside its count for the same reason. */
  relative: Float64Array;
  /** Set once something asked for the sorted order; kept in step by every start and end. */
  order: InflightOrder | undefined;
}

/**
 * What the InstanceStats of one LoadStats share: the running in-flight total and the epoch their
 * `relativeLatency` is taken from. `rebase` moves the epoch to `now` for all of them at once.
 */
interface ServiceShared {
  inflight: number;
  epoch: number;
  rebase?: (now: number) => void;
}

/**
 * `relativeLatency` grows as e^((stamp − epoch) / decayMs): past this exponent the epoch moves
 * up, long before a double overflows (e^709). At the 10 s default decay, once every ~83 minutes.
 */
const MAX_GROWTH_EXPONENT = 500;

/** Below this (ms) a latency sample counts as this: two instances answering "instantly" tie. */
const LATENCY_FLOOR_MS = 0.001;

/** LoadStats' ways into an InstanceStats' private slot (not exported from the package). */
let attach: (stats: InstanceStats, board: InflightBoard, slot: number) => void;
let detach: (stats: InstanceStats) => void;
let slotOf: (stats: InstanceStats) => number;
let rebaseTo: (stats: InstanceStats, epoch: number) => void;

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
 *
 * The in-flight count lives in its LoadStats' `inflightCounts` (one compact Int32Array for the
 * whole service), so that pickers read counts without visiting an object per instance.
 */
export class InstanceStats {
  /** Attempts finished, and how many of them failed. */
  completed = 0;
  failed = 0;
  /** Latency samples folded into the EWMA so far. */
  samples = 0;

  readonly #decayMs: number;
  readonly #shared: ServiceShared;
  /** A private one-slot board until a LoadStats attaches the instance to its own. */
  #board: InflightBoard = { counts: new Int32Array(1), relative: new Float64Array(1), order: undefined };
  #slot = 0;
  /**
   * The same count, kept beside the object's other figures too: a reader that has the object in
   * hand already (peak-EWMA reads its latency) then needs no second memory access.
   */
  #inflight = 0;
  /** The peak-sensitive estimate, and the plain time-weighted mean that caps it. */
  #cost = 0;
  #mean = 0;
  #stamp = 0;
  /** The estimate times e^((#stamp − epoch) / decayMs): see relativeLatency. */
  #relative = 0;

  static {
    attach = (stats, board, slot) => {
      stats.#board = board;
      stats.#slot = slot;
    };
    // A forgotten instance keeps counting on a board of its own: its slot goes to a newcomer.
    detach = (stats) => {
      stats.#board = {
        counts: Int32Array.of(stats.#inflight),
        relative: Float64Array.of(stats.#relative),
        order: undefined,
      };
      stats.#slot = 0;
    };
    slotOf = (stats) => stats.#slot;
    rebaseTo = (stats, epoch) => {
      if (stats.samples === 0) return;
      const growth = Math.exp((stats.#stamp - epoch) / stats.#decayMs);
      stats.#relative = Math.max(stats.#cost, LATENCY_FLOOR_MS) * growth;
      stats.#board.relative[stats.#slot] = stats.#relative;
    };
  }

  /**
   * @param decayMs time constant of the latency EWMA (Finagle's peak-EWMA default: 10 s).
   * @param shared the service-wide running count this instance's in-flight changes add to, and
   *   the epoch of relativeLatency; an instance on its own keeps its own.
   */
  constructor(decayMs = 10_000, shared?: ServiceShared) {
    this.#decayMs = decayMs;
    this.#shared = shared ?? { inflight: 0, epoch: Number.NaN };
  }

  /**
   * Attempts in flight right now. Setting it (tests, tools) does not touch the service total;
   * a value below 0 is taken as 0, a fraction is truncated.
   */
  get inflight(): number {
    return this.#inflight;
  }

  set inflight(value: number) {
    const board = this.#board;
    const slot = this.#slot;
    const target = value > 0 ? Math.min(Math.trunc(value), 0x7fff_ffff) : 0;
    const order = board.order;
    if (order) {
      for (let count = board.counts[slot]!; count < target; count++) order.raise(slot, count);
      for (let count = board.counts[slot]!; count > target; count--) order.lower(slot, count);
    }
    board.counts[slot] = target;
    this.#inflight = target;
  }

  onStart(): void {
    const board = this.#board;
    const slot = this.#slot;
    const count = this.#inflight;
    board.counts[slot] = count + 1;
    this.#inflight = count + 1;
    this.#shared.inflight++;
    if (board.order) board.order.raise(slot, count);
  }

  onEnd(now: number, latencyMs: number, ok: boolean): void {
    const board = this.#board;
    const slot = this.#slot;
    const count = this.#inflight;
    if (count > 0) {
      board.counts[slot] = count - 1;
      this.#inflight = count - 1;
      this.#shared.inflight--;
      if (board.order) board.order.lower(slot, count);
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
    const shared = this.#shared;
    if (!(now - shared.epoch <= MAX_GROWTH_EXPONENT * this.#decayMs)) {
      // The first sample of the service (epoch NaN), or one far past the epoch.
      if (shared.rebase) shared.rebase(now);
      else shared.epoch = now;
    }
    const growth = Math.exp((now - shared.epoch) / this.#decayMs);
    this.#relative = Math.max(this.#cost, LATENCY_FLOOR_MS) * growth;
    this.#board.relative[this.#slot] = this.#relative;
  }

  /**
   * The latency estimate (at least 1 µs) times e^((time of the last sample − epoch) / decayMs),
   * with one epoch for all instances of a LoadStats: as every estimate decays by the same factor
   * while no sample arrives, the ratio of two instances' relative latencies is the ratio of their
   * estimates at any time since their last samples. So a picker compares them with no clock read
   * and no exponential. 0 before the first sample; only ratios mean anything.
   */
  get relativeLatency(): number {
    return this.#relative;
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
  readonly #shared: ServiceShared = {
    inflight: 0,
    epoch: Number.NaN,
    rebase: (now) => {
      this.#shared.epoch = now;
      for (const stats of this.#byId.values()) rebaseTo(stats, now);
    },
  };
  readonly #board: InflightBoard = {
    counts: new Int32Array(16),
    relative: new Float64Array(16),
    order: undefined,
  };
  /** Slots given back by forgotten instances, reused before the board grows. */
  readonly #free: number[] = [];
  /** Slots handed out so far, free ones included. */
  #used = 0;

  constructor(options: { decayMs?: number } = {}) {
    this.#decayMs = options.decayMs ?? 10_000;
  }

  /** The stats of `instance`, created on first use. */
  of(instance: ServiceInstance | string): InstanceStats {
    const id = typeof instance === 'string' ? instance : instance.id;
    let stats = this.#byId.get(id);
    if (!stats) {
      stats = new InstanceStats(this.#decayMs, this.#shared);
      attach(stats, this.#board, this.#allocate());
      this.#byId.set(id, stats);
    }
    return stats;
  }

  /** How many instances it keeps figures for: the snapshot's, and departed ones still in flight. */
  get size(): number {
    return this.#byId.size;
  }

  /** Attempts in flight across the service: O(1), kept up by every instance's start and end. */
  get totalInflight(): number {
    return this.#shared.inflight;
  }

  /**
   * Every instance's in-flight count, at its `slotOf` index: one compact array that a picker
   * reads without visiting an object per instance. The array is replaced when the service
   * outgrows it, so read this property at each pick rather than keeping the array.
   */
  get inflightCounts(): Int32Array {
    return this.#board.counts;
  }

  /**
   * Every instance's `relativeLatency` (0 before its first sample), at its `slotOf` index, as
   * `inflightCounts` holds counts: what peak-EWMA compares, read without visiting an object per
   * instance. Replaced when the service outgrows it: read it at each pick.
   */
  get relativeLatencies(): Float64Array {
    return this.#board.relative;
  }

  /**
   * The index of `instance`'s count in `inflightCounts` (its stats are created on first use).
   * Stable while the instance is known; a slot freed by `retain` goes to a later newcomer.
   */
  slotOf(instance: ServiceInstance | string): number {
    return slotOf(this.of(instance));
  }

  /**
   * The slots sorted by in-flight count, kept sorted by every start and end from the first call
   * on (each then costs a swap or two more): what an exact O(1) least-connections pick reads.
   */
  inflightOrder(): InflightOrder {
    const board = this.#board;
    board.order ??= new InflightOrder(board.counts, Array.from(this.#byId.values(), slotOf));
    return board.order;
  }

  /** Forgets instances that left, except those with attempts still in flight. */
  retain(instances: readonly ServiceInstance[]): void {
    const keep = new Set(instances.map((instance) => instance.id));
    for (const [id, stats] of this.#byId) {
      if (keep.has(id) || stats.inflight !== 0) continue;
      this.#byId.delete(id);
      const slot = slotOf(stats);
      detach(stats);
      this.#board.order?.remove(slot);
      this.#free.push(slot);
    }
  }

  #allocate(): number {
    const board = this.#board;
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#used++;
      if (slot === board.counts.length) {
        const grown = new Int32Array(board.counts.length * 2);
        grown.set(board.counts);
        board.counts = grown;
        const relative = new Float64Array(grown.length);
        relative.set(board.relative);
        board.relative = relative;
      }
    }
    board.counts[slot] = 0;
    board.relative[slot] = 0;
    board.order?.insert(slot);
    return slot;
  }
}
