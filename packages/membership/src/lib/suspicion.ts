import type { Clock, TimerHandle } from '@switchyard/core';

/**
 * Lifeguard's dynamic suspicion timeout: starts at `maxMs` and shrinks toward `minMs` as
 * independent members confirm the suspicion, following
 * `timeout = max(min, max − (max − min) · log(c + 1) / log(k + 1))` for `c` confirmations out of
 * the `k` expected. With `k = 0` the timeout is `minMs` from the start (plain SWIM).
 *
 * @example
 * const s = new Suspicion('node-b', 3, 2_000, 12_000, clock, () => markDead());
 * s.confirm('node-c'); // another member suspects too: fire sooner
 */
export class Suspicion {
  readonly #k: number;
  readonly #minMs: number;
  readonly #maxMs: number;
  readonly #clock: Clock;
  readonly #onTimeout: () => void;
  readonly #start: number;
  readonly #confirmedBy = new Set<string>();
  #timer: TimerHandle | undefined;
  #fired = false;

  constructor(from: string, k: number, minMs: number, maxMs: number, clock: Clock, onTimeout: () => void) {
    this.#k = k;
    this.#minMs = minMs;
    this.#maxMs = k < 1 ? minMs : maxMs;
    this.#clock = clock;
    this.#onTimeout = onTimeout;
    this.#start = clock.now();
    this.#confirmedBy.add(from);
    this.#schedule(this.#maxMs);
  }

  /** Independent confirmations so far (the first suspecter does not count). */
  get confirmations(): number {
    return this.#confirmedBy.size - 1;
  }

  /** The current total timeout, measured from the start of the suspicion. */
  get timeoutMs(): number {
    return suspicionTimeout(this.confirmations, this.#k, this.#minMs, this.#maxMs);
  }

  /**
   * Records that `from` suspects too. Returns true when this is news (a new member, and more
   * confirmations are still useful), in which case the caller should gossip the confirmation on.
   */
  confirm(from: string): boolean {
    if (this.#fired || this.confirmations >= this.#k || this.#confirmedBy.has(from)) return false;
    this.#confirmedBy.add(from);
    const elapsed = this.#clock.now() - this.#start;
    this.#schedule(Math.max(0, this.timeoutMs - elapsed));
    return true;
  }

  /** Stops the timer (the member refuted, or the node closes). */
  cancel(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.cancel();
    const timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#fired = true;
      this.#onTimeout();
    }, ms);
    timer.unref?.();
    this.#timer = timer;
  }
}

/** The suspicion timeout after `c` of `k` expected confirmations (see Suspicion). */
export function suspicionTimeout(c: number, k: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs;
  const frac = Math.log(c + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - (maxMs - minMs) * frac));
}

/**
 * The shortest suspicion timeout for a cluster of `n`: `mult · max(1, log10 n) · probeInterval`,
 * so that news has time to reach everyone before a suspect is declared dead (memberlist).
 */
export function minSuspicionTimeout(mult: number, n: number, probeIntervalMs: number): number {
  return Math.round(mult * Math.max(1, Math.log10(Math.max(1, n))) * probeIntervalMs);
}
