import type { RejectionLog } from '@switchyard/core';
import {
  ServiceNotFoundError,
  type TimerHandle,
  type TypedEmitter,
  WatchFanout,
  type WatchSource,
} from '@switchyard/core';
import type { DnsRegistryEvents } from './dns-events.ts';
import { lookupService, recordKey } from './dns-lookup.ts';
import type { ResolvedDnsOptions } from './dns-options.ts';

/**
 * Re-resolves one service on an unref'd timer. The next refresh comes after the answer's lowest
 * TTL clamped to [minTtlMs, maxTtlMs]; after a failed refresh, after minTtlMs. Listeners hear
 * only real changes. NXDOMAIN is an answer (the service is gone: empty list); a timeout or a
 * refusal is not (the last list stays, `registryStale` is emitted).
 */
export class DnsWatch implements WatchSource {
  readonly fanout = new WatchFanout();
  #timer: TimerHandle | undefined;
  #inflight: AbortController | undefined;
  #staleSince: number | undefined;
  #closed = false;

  constructor(
    readonly service: string,
    readonly options: ResolvedDnsOptions,
    readonly events: TypedEmitter<DnsRegistryEvents>,
    readonly rejections: RejectionLog,
  ) {
    void this.#refresh();
  }

  close(): void {
    this.#closed = true;
    this.fanout.clear();
    if (this.#timer !== undefined) this.options.clock.clearTimeout(this.#timer);
    this.#inflight?.abort();
  }

  async #refresh(): Promise<void> {
    this.#timer = undefined;
    const controller = new AbortController();
    this.#inflight = controller;
    let delay = this.options.minTtlMs;
    try {
      const answer = await lookupService(this.service, this.options, controller.signal);
      if (this.#closed) return;
      this.#report(answer.rejected);
      this.fanout.publish(answer.instances);
      this.#recovered();
      const ttl = answer.ttlMs ?? this.options.minTtlMs;
      delay = Math.min(this.options.maxTtlMs, Math.max(this.options.minTtlMs, ttl));
    } catch (error) {
      if (this.#closed) return;
      if (error instanceof ServiceNotFoundError) {
        this.rejections.replace(this.service, [], recordKey);
        this.fanout.publish([]);
        this.#recovered();
      } else if (this.#staleSince === undefined) {
        this.#staleSince = this.options.clock.now();
        this.events.emit('registryStale', { service: this.service, error: error as Error });
      }
    } finally {
      if (this.#inflight === controller) this.#inflight = undefined;
    }
    if (!this.#closed) this.#timer = this.options.clock.setTimeout(() => void this.#refresh(), delay);
  }

  #report(rejected: readonly { record: string; reason: string }[]): void {
    for (const entry of this.rejections.replace(this.service, rejected, recordKey)) {
      this.events.emit('invalidInstance', { service: this.service, ...entry });
    }
  }

  #recovered(): void {
    const since = this.#staleSince;
    if (since === undefined) return;
    this.#staleSince = undefined;
    const staleForMs = Math.max(0, this.options.clock.now() - since);
    this.events.emit('registryRecovered', { service: this.service, staleForMs });
  }
}
