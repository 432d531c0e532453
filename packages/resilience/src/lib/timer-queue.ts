import type { Clock, TimerHandle } from '@switchyard/core';

/** Something a TimerQueue can wake: an object method, so entries need no closure. */
export interface TimerTarget {
  onTimer(): void;
}

/** A scheduled wake-up; `cancel()` is O(1). */
export interface TimerEntry {
  readonly at: number;
  cancel(): void;
}

class Entry implements TimerEntry {
  constructor(
    readonly at: number,
    public target: TimerTarget | undefined,
  ) {}

  cancel(): void {
    this.target = undefined;
  }
}

/**
 * Many timeouts of one fixed length on a single clock timer. Because every entry has the same
 * delay, deadlines arrive in insertion order: a FIFO queue replaces a heap, and one armed timer
 * replaces a `setTimeout`/`clearTimeout` pair per call (the cost that makes per-call timeouts
 * expensive). Cancelled entries are dropped lazily from the head.
 *
 * @example
 * const attemptTimeouts = new TimerQueue(clock, 2_000);
 * const entry = attemptTimeouts.add(attempt); // attempt.onTimer() runs in 2 s…
 * entry.cancel();                            // …unless cancelled first
 */
export class TimerQueue {
  readonly delayMs: number;
  readonly #clock: Clock;
  #queue: Entry[] = [];
  #head = 0;
  #timer: TimerHandle | undefined;
  readonly #fire = () => this.#onFire();

  constructor(clock: Clock, delayMs: number) {
    this.#clock = clock;
    this.delayMs = delayMs;
  }

  /** Schedules `target.onTimer()` in `delayMs`; `now` saves a clock read when the caller has one. */
  add(target: TimerTarget, now: number = this.#clock.now()): TimerEntry {
    this.#dropCancelled();
    const entry = new Entry(now + this.delayMs, target);
    this.#queue.push(entry);
    if (this.#timer === undefined) this.#arm(entry.at);
    return entry;
  }

  /** Entries not yet fired nor dropped (cancelled ones may linger until they reach the head). */
  get size(): number {
    return this.#queue.length - this.#head;
  }

  /** Forgets every entry and stops the timer. */
  clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#head = 0;
  }

  #arm(at: number): void {
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, at - this.#clock.now()));
  }

  #onFire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    while (this.#head < this.#queue.length) {
      const entry = this.#queue[this.#head]!;
      if (entry.target !== undefined && entry.at > now) break;
      this.#head++;
      const target = entry.target;
      entry.target = undefined;
      target?.onTimer();
    }
    this.#compact();
    const next = this.#queue[this.#head];
    if (next !== undefined && this.#timer === undefined) this.#arm(next.at);
  }

  #dropCancelled(): void {
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.target === undefined) this.#head++;
    this.#compact();
  }

  #compact(): void {
    // Emptying a short queue is left for later: shrinking and regrowing the array on every
    // call would cost more than the few dead entries it frees.
    if (this.#head === this.#queue.length && this.#head >= 256) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
