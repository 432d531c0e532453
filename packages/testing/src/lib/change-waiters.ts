import { abortReason, type Clock, type TimerHandle } from '@switchyard/core';

interface Waiter {
  readonly ready: () => boolean;
  readonly done: () => void;
}

/**
 * Pending blocking queries: each waits until its condition holds, its time is up, or its
 * request is aborted. `notify()` after every change re-checks them all (mocks hold few).
 */
export class ChangeWaiters {
  readonly #clock: Clock;
  readonly #waiters = new Set<Waiter>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Resolves when `ready()` holds (checked now and on every notify) or after `timeoutMs`. */
  wait(ready: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (ready() || timeoutMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const finish = (settle: () => void) => {
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
        settle();
      };
      const waiter: Waiter = { ready, done: () => finish(resolve) };
      const onAbort = () => finish(() => reject(abortReason(signal as AbortSignal)));
      const timer: TimerHandle = this.#clock.setTimeout(waiter.done, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** How many queries are blocked right now. */
  get size(): number {
    return this.#waiters.size;
  }

  notify(): void {
    for (const waiter of [...this.#waiters]) if (waiter.ready()) waiter.done();
  }

  /** Answers every pending query now, ready or not. */
  releaseAll(): void {
    for (const waiter of [...this.#waiters]) waiter.done();
  }
}
