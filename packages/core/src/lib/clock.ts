/** A handle to a scheduled callback. */
export interface TimerHandle {
  unref?(): unknown;
}

/**
 * Time as Switchyard sees it. Production code uses `systemClock`; tests inject a ManualClock
 * and move time by hand. Timers from `systemClock` are unref'd: they never keep a process alive.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (not wall time). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});

interface ManualTimer extends TimerHandle {
  at: number;
  seq: number;
  callback: () => void;
}

/** A clock that only moves when told to. `advance(ms)` runs every timer that falls due, in order. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Set<ManualTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = {
      at: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      callback,
      unref: () => timer,
    };
    this.#timers.add(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as ManualTimer);
  }

  /** Pending timers, for tests that check nothing is left scheduled. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const timer of this.#timers) {
        if (
          timer.at <= target &&
          (!next || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))
        ) {
          next = timer;
        }
      }
      if (!next) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = target;
  }
}
