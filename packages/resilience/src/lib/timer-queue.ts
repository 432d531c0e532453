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

/** Entries at least, between two sweeps of cancelled ones. */
const MIN_SWEEP = 4096;

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
  // A slot is emptied as the head passes it: a dead entry held by this long-lived array would
  // survive young-generation collections and be promoted, only to die in the old generation.
  #queue: (Entry | undefined)[] = [];
  #head = 0;
  /** Queue length that triggers a sweep of cancelled entries (twice the live ones last swept). */
  #sweepAt = MIN_SWEEP;
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
    if (this.#queue.length - this.#head >= this.#sweepAt) this.#sweep();
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
    this.#sweepAt = MIN_SWEEP;
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
      this.#queue[this.#head++] = undefined;
      const target = entry.target;
      entry.target = undefined;
      target?.onTimer();
    }
    this.#compact();
    const next = this.#queue[this.#head];
    if (next !== undefined && this.#timer === undefined) this.#arm(next.at);
  }

  /**
   * Keeps only the entries still pending. Without it one call that hangs at the head would hold
   * every entry added after it until its own timeout, however quickly those calls ended. Runs
   * when the queue doubles past the live count of the last sweep: amortised O(1) per add.
   */
  #sweep(): void {
    const live: Entry[] = [];
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) {
      const entry = queue[i]!;
      if (entry.target !== undefined) live.push(entry);
    }
    this.#queue = live;
    this.#head = 0;
    this.#sweepAt = Math.max(MIN_SWEEP, 2 * live.length);
  }

  #dropCancelled(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head]!.target === undefined)
      queue[this.#head++] = undefined;
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
