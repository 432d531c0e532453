import type { RejectionLog } from '@switchyard/core';
import { retryDelay, sleep, type TypedEmitter, WatchFanout, type WatchSource } from '@switchyard/core';
import { type RejectedConsulEntry, rejectionKey } from './consul-entry.ts';
import type { ConsulRegistryEvents } from './consul-events.ts';
import type { ResolvedConsulOptions } from './consul-options.ts';
import { queryHealth } from './health-query.ts';

/**
 * Follows one service with blocking queries, as Consul's guide asks: the first query is
 * plain; each next one passes the last `X-Consul-Index`. An index that went backwards resets
 * to 0; one that is not > 0 is treated as 1 (a 0 would turn the watch into a busy loop). On
 * errors the last list stays, `registryStale` is emitted once, and retries back off with jitter.
 */
export class ConsulWatch implements WatchSource {
  readonly fanout = new WatchFanout();
  readonly #stop = new AbortController();
  #index = 0;
  #staleSince: number | undefined;

  constructor(
    readonly service: string,
    readonly options: ResolvedConsulOptions,
    readonly events: TypedEmitter<ConsulRegistryEvents>,
    readonly rejections: RejectionLog,
  ) {
    void this.#run();
  }

  /** Ends the loop and aborts the query in flight. */
  close(): void {
    this.fanout.clear();
    this.#stop.abort();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        const answer = await queryHealth(this.options, this.service, { index: this.#index, signal });
        this.#advance(answer.index);
        this.#report(answer.rejected);
        this.fanout.publish(answer.instances);
        attempt = 0;
        const since = this.#staleSince;
        if (since !== undefined) {
          this.#staleSince = undefined;
          const staleForMs = Math.max(0, this.options.clock.now() - since);
          this.events.emit('registryRecovered', { service: this.service, staleForMs });
        }
      } catch (error) {
        if (signal.aborted) return;
        if (this.#staleSince === undefined) {
          this.#staleSince = this.options.clock.now();
          this.events.emit('registryStale', { service: this.service, error: error as Error });
        }
        const delay = retryDelay(attempt++, this.options.minBackoffMs, this.options.maxBackoffMs);
        await sleep(delay, signal, this.options.clock).catch(() => undefined);
      }
    }
  }

  #advance(next: number | undefined): void {
    const previous = this.#index;
    if (next === undefined || !Number.isFinite(next) || next <= 0) {
      this.#index = 1;
    } else if (next < previous) {
      this.#index = 0;
      this.events.emit('indexReset', { service: this.service, from: previous, to: next });
    } else {
      this.#index = next;
    }
  }

  #report(rejected: readonly RejectedConsulEntry[]): void {
    for (const entry of this.rejections.replace(this.service, rejected, rejectionKey)) {
      this.events.emit('invalidInstance', { service: this.service, ...entry });
    }
  }
}
