import { abortReason, type Clock, type TimerHandle } from '@switchyard/core';

interface Waiter {
  readonly index: number;
  readonly done: (index: number) => void;
}

/** Pending "tell me when this service's index moves" requests: the heart of the long-poll watch. */
export class IndexWaiters {
  readonly #clock: Clock;
  readonly #indexOf: (service: string) => number;
  readonly #byService = new Map<string, Set<Waiter>>();

  constructor(clock: Clock, indexOf: (service: string) => number) {
    this.#clock = clock;
    this.#indexOf = indexOf;
  }

  /**
   * Resolves with the current index once it differs from `index`, or after `timeoutMs` with the
   * same index; rejects with the signal's reason on abort. Nothing is left behind either way.
   */
  wait(
    service: string,
    index: number,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<number> {
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const current = this.#indexOf(service);
    if (current !== index || timeoutMs <= 0) return Promise.resolve(current);
    return new Promise<number>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const finish = (settle: () => void) => {
        if (timer) this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const set = this.#byService.get(service);
        set?.delete(waiter);
        if (set?.size === 0) this.#byService.delete(service);
        settle();
      };
      const waiter: Waiter = { index, done: (value) => finish(() => resolve(value)) };
      const onAbort = () => finish(() => reject(abortReason(signal as AbortSignal)));
      timer = this.#clock.setTimeout(() => waiter.done(this.#indexOf(service)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.#byService.get(service);
      if (!set) {
        set = new Set();
        this.#byService.set(service, set);
      }
      set.add(waiter);
    });
  }

  /** Wakes the service's waiters whose index is now behind. */
  notify(service: string): void {
    const set = this.#byService.get(service);
    if (!set) return;
    const current = this.#indexOf(service);
    for (const waiter of [...set]) if (waiter.index !== current) waiter.done(current);
  }

  /** Answers every pending wait now (used by close()). */
  releaseAll(): void {
    for (const [service, set] of [...this.#byService]) {
      for (const waiter of [...set]) waiter.done(this.#indexOf(service));
    }
  }
}
