import {
  type Clock,
  isAbortError,
  type ServiceInstance,
  ServiceNotFoundError,
  SwitchyardError,
  sameInstances,
  sleep,
} from '@switchyard/core';
import type { Backoff } from './backoff.ts';

/** One answer of the long-poll: the list and the service's index after it. */
export interface PollResult {
  readonly instances: readonly ServiceInstance[];
  readonly index: number;
}

export interface LongPollWatchOptions {
  readonly service: string;
  readonly listener: (instances: readonly ServiceInstance[]) => void;
  /** `index` undefined: answer now; a number: wait until the registry's index differs. */
  readonly poll: (index: number | undefined, signal: AbortSignal) => Promise<PollResult>;
  readonly backoff: Backoff;
  readonly clock: Clock;
  readonly onError: (error: SwitchyardError) => void;
  readonly onStale: (error: SwitchyardError, since: number) => void;
  readonly onRecovered: (staleForMs: number) => void;
}

/**
 * The client side of the long-poll watch: ask, wait for the index to move, deliver changes.
 * On errors the last delivered list stays (the listener never gets `[]` because of an error),
 * the loop backs off with jitter and tries again, and stale/recovered report the outage.
 */
export class LongPollWatch {
  readonly #options: LongPollWatchOptions;
  readonly #controller = new AbortController();
  readonly done: Promise<void>;

  constructor(options: LongPollWatchOptions) {
    this.#options = options;
    this.done = this.#run();
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
    let last: readonly ServiceInstance[] | undefined;
    let staleSince: number | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const result = await poll(index, signal);
        if (signal.aborted) return;
        failures = 0;
        index = result.index;
        if (staleSince !== undefined) {
          const staleFor = clock.now() - staleSince;
          staleSince = undefined;
          this.#options.onRecovered(staleFor);
        }
        if (last === undefined || !sameInstances(last, result.instances)) {
          last = result.instances;
          this.#deliver(last);
        }
        continue;
      } catch (error) {
        if (signal.aborted || isAbortError(error)) return;
        const typed =
          error instanceof SwitchyardError
            ? error
            : new SwitchyardError(`watch of ${this.#options.service} failed`, {
                service: this.#options.service,
                cause: error,
              });
        if (typed instanceof ServiceNotFoundError && last === undefined) {
          // A service the registry never knew: that is an answer (no instances), not an outage.
          last = Object.freeze([]);
          this.#deliver(last);
          index = 0; // next: wait for it to appear
        } else {
          // After any failure, ask for the current list first: a restarted registry may sit at the
          // same index number with other contents.
          index = typed instanceof ServiceNotFoundError ? 0 : undefined;
          this.#options.onError(typed);
          if (staleSince === undefined) {
            staleSince = clock.now();
            this.#options.onStale(typed, staleSince);
          }
        }
      }
      try {
        await sleep(backoff.delay(failures++), signal, clock);
      } catch {
        return; // aborted
      }
    }
  }

  #deliver(instances: readonly ServiceInstance[]): void {
    try {
      this.#options.listener(instances);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
