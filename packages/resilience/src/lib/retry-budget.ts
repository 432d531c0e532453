import { type Clock, systemClock, ValidationError } from '@switchyard/core';

export interface RetryBudgetOptions {
  /** Retries allowed per call in the window. Default 0.2 (Finagle, Envoy). */
  readonly ratio?: number;
  /** Retries always allowed per second, so a quiet service can still retry. Default 10. */
  readonly minRetriesPerSecond?: number;
  /** Length of the sliding window, ms. Default 10 000. */
  readonly windowMs?: number;
}

const BUCKETS = 10;

/**
 * A retry budget after Finagle's `RetryBudget`: each call deposits, each retry withdraws, and a
 * retry is allowed while `retries ≤ ratio × calls + floor` over a sliding window
 * (`floor = minRetriesPerSecond × windowMs / 1000`). When every instance fails, this caps the
 * extra load at `ratio` instead of multiplying it by `maxAttempts`.
 *
 * The window is ten fixed buckets on the injected clock; nothing is allocated per call.
 *
 * @example
 * const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 1, windowMs: 10_000 });
 * budget.deposit();
 * if (!budget.tryWithdraw()) throw new RetryBudgetExceededError('users');
 */
export class RetryBudget {
  readonly ratio: number;
  /** Retries allowed in any window regardless of traffic. */
  readonly floor: number;
  readonly #clock: Clock;
  readonly #bucketMs: number;
  readonly #calls = new Float64Array(BUCKETS);
  readonly #retries = new Float64Array(BUCKETS);
  #epoch = Number.NEGATIVE_INFINITY;
  #callsTotal = 0;
  #retriesTotal = 0;

  constructor(options: RetryBudgetOptions = {}, clock: Clock = systemClock) {
    const ratio = options.ratio ?? 0.2;
    const perSecond = options.minRetriesPerSecond ?? 10;
    const windowMs = options.windowMs ?? 10_000;
    if (!Number.isFinite(ratio) || ratio < 0) {
      throw new ValidationError('retryBudget.ratio', `expected a finite number ≥ 0, got ${ratio}`);
    }
    if (!Number.isFinite(perSecond) || perSecond < 0) {
      throw new ValidationError(
        'retryBudget.minRetriesPerSecond',
        `expected a finite number ≥ 0, got ${perSecond}`,
      );
    }
    if (!Number.isFinite(windowMs) || windowMs < BUCKETS) {
      throw new ValidationError(
        'retryBudget.windowMs',
        `expected a finite number ≥ ${BUCKETS}, got ${windowMs}`,
      );
    }
    this.ratio = ratio;
    this.floor = (perSecond * windowMs) / 1000;
    this.#clock = clock;
    this.#bucketMs = windowMs / BUCKETS;
  }

  /** Records one call (a first attempt). */
  deposit(now: number = this.#clock.now()): void {
    this.#calls[this.#advance(now)]! += 1;
    this.#callsTotal += 1;
  }

  /** Takes one retry from the budget; false when the budget is spent (nothing is recorded). */
  tryWithdraw(): boolean {
    const slot = this.#advance();
    if (this.#retriesTotal + 1 > this.ratio * this.#callsTotal + this.floor) return false;
    this.#retries[slot]! += 1;
    this.#retriesTotal += 1;
    return true;
  }

  /** Retries still allowed in the current window. */
  get available(): number {
    this.#advance();
    return Math.max(0, Math.floor(this.ratio * this.#callsTotal + this.floor - this.#retriesTotal));
  }

  /** Moves the window to now, emptying buckets that fell out of it; returns the current slot. */
  #advance(now: number = this.#clock.now()): number {
    const epoch = Math.floor(now / this.#bucketMs);
    if (epoch !== this.#epoch) {
      const stale = Math.min(BUCKETS, Math.max(0, epoch - this.#epoch));
      for (let i = 0; i < stale; i++) {
        const slot = (((epoch - i) % BUCKETS) + BUCKETS) % BUCKETS;
        this.#callsTotal -= this.#calls[slot]!;
        this.#retriesTotal -= this.#retries[slot]!;
        this.#calls[slot] = 0;
        this.#retries[slot] = 0;
      }
      this.#epoch = epoch;
    }
    return ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
  }
}
