import { type Clock, systemClock } from '@switchyard/core';
import { numberOption, objectOption } from './options.ts';

export interface PhiAccrualOptions {
  /** Phi above which the source counts as unavailable. Default 8 (Akka, Cassandra). */
  readonly threshold?: number;
  /** Heartbeat intervals kept. Default 1000. */
  readonly windowSize?: number;
  /** Floor for the interval's standard deviation, so very regular heartbeats do not make phi jumpy. Default 100 ms. */
  readonly minStdDeviationMs?: number;
  /** Pause tolerated on top of the mean interval (GC, load). Default 0 ms. */
  readonly acceptableHeartbeatPauseMs?: number;
  /** Assumed interval before real ones are known. Default 1000 ms. */
  readonly firstHeartbeatEstimateMs?: number;
  readonly clock?: Clock;
}

/**
 * The φ accrual failure detector (Hayashibara et al., 2004; as in Akka and Cassandra) for one
 * heartbeat source. Rather than a yes/no timeout it gives a suspicion level: φ = −log10 of the
 * probability that a heartbeat comes this late, given the intervals seen so far (a normal
 * distribution over a sliding window). φ = 8 means a 1 in 10⁸ chance the source is still fine.
 * O(1) per heartbeat and per query, no allocation.
 *
 * @example
 * const phi = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 500 });
 * phi.heartbeat(); // on every heartbeat from the source
 * if (!phi.isAvailable()) markDown();
 */
export class PhiAccrualDetector {
  readonly threshold: number;
  readonly #intervals: Float64Array;
  readonly #minStd: number;
  readonly #pause: number;
  readonly #clock: Clock;
  #count = 0;
  #next = 0;
  #sum = 0;
  #sumSquares = 0;
  #last: number | undefined;

  constructor(input: PhiAccrualOptions = {}) {
    const options = objectOption(input, 'phiAccrual') as PhiAccrualOptions;
    this.threshold = numberOption(options.threshold, 'phiAccrual.threshold', 8, { exclusiveMin: true });
    const windowSize = numberOption(options.windowSize, 'phiAccrual.windowSize', 1000, {
      min: 2,
      integer: true,
    });
    this.#minStd = numberOption(options.minStdDeviationMs, 'phiAccrual.minStdDeviationMs', 100, {
      exclusiveMin: true,
    });
    this.#pause = numberOption(
      options.acceptableHeartbeatPauseMs,
      'phiAccrual.acceptableHeartbeatPauseMs',
      0,
    );
    const first = numberOption(
      options.firstHeartbeatEstimateMs,
      'phiAccrual.firstHeartbeatEstimateMs',
      1000,
      {
        exclusiveMin: true,
      },
    );
    this.#clock = options.clock ?? systemClock;
    this.#intervals = new Float64Array(windowSize);
    // Seed the window as Akka does: two samples around the estimate, deviation a quarter of it.
    this.#push(first - first / 4);
    this.#push(first + first / 4);
  }

  /** Records a heartbeat arriving at `now`. */
  heartbeat(now: number = this.#clock.now()): void {
    // Out-of-order timestamps (from another clock) carry no interval to learn.
    if (this.#last !== undefined && now < this.#last) return;
    // A heartbeat after the source was deemed down is a restart, not a long interval:
    // keeping that gap would teach the detector to tolerate the outage next time.
    if (this.#last !== undefined && this.isAvailable(this.threshold, now)) this.#push(now - this.#last);
    this.#last = now;
  }

  /** The suspicion level at `now`: 0 before the first heartbeat, growing with silence. */
  phi(now: number = this.#clock.now()): number {
    if (this.#last === undefined) return 0;
    const elapsed = now - this.#last;
    const mean = this.meanIntervalMs + this.#pause;
    const std = Math.max(this.stdDeviationMs, this.#minStd);
    // Logistic approximation of the normal CDF (Bowling et al. 2009), as Akka uses.
    const y = (elapsed - mean) / std;
    const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
    return elapsed > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
  }

  /** Whether phi at `now` is below `threshold`. */
  isAvailable(threshold: number = this.threshold, now: number = this.#clock.now()): boolean {
    return this.phi(now) < threshold;
  }

  /** Mean of the intervals in the window. */
  get meanIntervalMs(): number {
    return this.#sum / this.#count;
  }

  get stdDeviationMs(): number {
    const mean = this.meanIntervalMs;
    return Math.sqrt(Math.max(0, this.#sumSquares / this.#count - mean * mean));
  }

  /** Intervals in the window. */
  get samples(): number {
    return this.#count;
  }

  #push(interval: number): void {
    const window = this.#intervals;
    if (this.#count === window.length) {
      const old = window[this.#next]!;
      this.#sum -= old;
      this.#sumSquares -= old * old;
    } else {
      this.#count++;
    }
    window[this.#next] = interval;
    this.#sum += interval;
    this.#sumSquares += interval * interval;
    this.#next = (this.#next + 1) % window.length;
    // Running sums drift with rounding; recompute them once per lap of the window.
    if (this.#next === 0) this.#resum();
  }

  #resum(): void {
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < this.#count; i++) {
      const value = this.#intervals[i]!;
      sum += value;
      squares += value * value;
    }
    this.#sum = sum;
    this.#sumSquares = squares;
  }
}
