import {
  type Clock,
  type ServiceInstance,
  ServiceNotFoundError,
  SwitchyardError,
  sameInstances,
  sleep,
} from '@switchyard/core';
import type { Backoff } from './backoff.ts';
import { RegistryBusyError } from './registry-errors.ts';

/** One answer of the long-poll: the list and the service's index after it. */
export interface PollResult {
  readonly instances: readonly ServiceInstance[];
  readonly index: number;
}

export interface LongPollWatchOptions {
  readonly service: string;
  /** `index` undefined: answer now; a number: wait until the registry's index differs. */
  readonly poll: (index: number | undefined, signal: AbortSignal) => Promise<PollResult>;
  readonly backoff: Backoff;
  readonly clock: Clock;
  readonly onError: (error: SwitchyardError) => void;
  readonly onStale: (error: SwitchyardError, since: number) => void;
  readonly onRecovered: (staleForMs: number) => void;
  /** Called once the last listener left and the loop stopped. */
  readonly onIdle?: () => void;
}

type Listener = (instances: readonly ServiceInstance[]) => void;

/**
 * The client side of the long-poll watch of one service, shared by all its listeners: ask, wait
 * for the index to move, deliver changes. On errors the last delivered list stays (a listener
 * never gets `[]` because of an error), the loop backs off with jitter and tries again, and
 * stale/recovered report the outage. The loop ends when its last listener leaves.
 */
export class LongPollWatch {
  readonly #options: LongPollWatchOptions;
  readonly #controller = new AbortController();
  readonly #listeners = new Set<Listener>();
  #last: readonly ServiceInstance[] | undefined;
  readonly done: Promise<void>;

  constructor(options: LongPollWatchOptions) {
    this.#options = options;
    this.done = this.#run();
  }

  /** Adds a listener; it gets the current list (if one arrived already), then every change. */
  add(listener: Listener): () => void {
    let received = false;
    const entry: Listener = (instances) => {
      received = true;
      listener(instances);
    };
    this.#listeners.add(entry);
    if (this.#last !== undefined) {
      // Not synchronously (the caller has not got its unsubscribe yet), and only if no newer
      // list reached the listener in between.
      queueMicrotask(() => {
        if (!received && this.#listeners.has(entry) && this.#last) this.#call(entry, this.#last);
      });
    }
    return () => {
      if (!this.#listeners.delete(entry) || this.#listeners.size > 0) return;
      void this.stop();
      this.#options.onIdle?.();
    };
  }

  /** Stops the loop and aborts the poll in flight. */
  stop(): Promise<void> {
    this.#controller.abort();
    return this.done;
  }

  async #run(): Promise<void> {
    const { signal } = this.#controller;
    const { poll, backoff, clock } = this.#options;
    let index: number | undefined;
    let staleSince: number | undefined;
    let failures = 0;
    let known = false; // got a list once: from then on a 404 means the registry lost the service
    let pauseAtLeast = 0; // a busy registry's Retry-After
    while (!signal.aborted) {
      pauseAtLeast = 0;
      try {
        const result = await poll(index, signal);
        if (signal.aborted) return;
        failures = 0;
        known = true;
        const unchanged = index !== undefined && result.index === index;
        index = result.index;
        if (staleSince !== undefined) {
          const staleFor = clock.now() - staleSince;
          staleSince = undefined;
          this.#options.onRecovered(staleFor);
        }
        if (this.#last === undefined || !sameInstances(this.#last, result.instances)) {
          this.#deliver(result.instances);
        }
        // An answer without a change is a long-poll that timed out, or a server that does not
        // hold polls at all: pause briefly so the latter cannot turn this into a busy loop.
        if (!unchanged) continue;
      } catch (error) {
        if (signal.aborted) return;
        const typed =
          error instanceof SwitchyardError
            ? error
            : new SwitchyardError(`watch of ${this.#options.service} failed`, {
                service: this.#options.service,
                cause: error,
              });
        if (typed instanceof ServiceNotFoundError && !known) {
          // A service the registry never knew: that is an answer (no instances), not an outage.
          if (this.#last === undefined) this.#deliver(Object.freeze([]));
          index = 0; // next: wait for it to appear
          failures = 0; // the long-poll paces these; keep the pause short
        } else {
          // After any failure, ask for the current list first: a restarted registry may sit at the
          // same index number with other contents.
          index = typed instanceof ServiceNotFoundError ? 0 : undefined;
          if (typed instanceof RegistryBusyError) pauseAtLeast = typed.retryAfterMs;
          this.#options.onError(typed);
          if (staleSince === undefined) {
            staleSince = clock.now();
            this.#options.onStale(typed, staleSince);
          }
        }
      }
      try {
        await sleep(Math.max(pauseAtLeast, backoff.delay(failures++)), signal, clock);
      } catch {
        return; // aborted
      }
    }
  }

  #deliver(instances: readonly ServiceInstance[]): void {
    this.#last = instances;
    for (const listener of [...this.#listeners]) this.#call(listener, instances);
  }

  #call(listener: Listener, instances: readonly ServiceInstance[]): void {
    try {
      listener(instances);
    } catch (error) {
      // A faulty listener must not stop the loop nor the other listeners; surface it.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
