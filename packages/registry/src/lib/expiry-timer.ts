import type { Clock, TimerHandle } from '@switchyard/core';

/**
 * One timer for a whole registry, armed for the earliest TTL deadline. Heartbeats only push
 * deadlines later, so the timer is never moved back for them: an early wake-up just runs the
 * sweep, which arms the timer again for the next deadline it finds.
 */
export class ExpiryTimer {
  readonly #clock: Clock;
  readonly #sweep: () => number;
  #timer: TimerHandle | undefined;
  #at = Number.POSITIVE_INFINITY;
  #stopped = false;

  /** @param sweep drops what expired and returns the next deadline (Infinity for none). */
  constructor(clock: Clock, sweep: () => number) {
    this.#clock = clock;
    this.#sweep = sweep;
  }

  /** Makes sure the timer fires no later than `at`. */
  schedule(at: number): void {
    if (this.#stopped || at === Number.POSITIVE_INFINITY || at >= this.#at) return;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, at - this.#clock.now()));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    this.schedule(this.#sweep());
  }
}
