import {
  RegistryProtocolError,
  RegistryUnavailableError,
  retryDelay,
  sleep,
  type TypedEmitter,
  WatchFanout,
  type WatchSource,
} from '@switchyard/core';
import type { WatchEvent } from './endpoint-slice.ts';
import type { KubernetesRegistryEvents } from './kubernetes-events.ts';
import { type KubernetesHttp, ResourceExpired } from './kubernetes-http.ts';
import type { ResolvedKubernetesOptions } from './kubernetes-options.ts';
import type { RejectionReporter } from './rejection-reporter.ts';
import { instancesFromSlices } from './slice-instances.ts';
import { listSlices, type SliceState, slicesPath } from './slice-list.ts';

/** The watchdog's verdict on a watch that brought nothing for `watchIdleMs`. */
class WatchStalled extends RegistryUnavailableError {}

/** A watch that ended this soon without an event counts as a failure (no busy loop). */
const MIN_USEFUL_WATCH_MS = 1_000;

/**
 * Follows one Service: list its EndpointSlices, then watch from the list's resourceVersion
 * (bookmarks on), applying ADDED / MODIFIED / DELETED to the slices by name and publishing the
 * merged instances. 410 Gone → list again; a failed or silent watch → `registryStale`, the last
 * list kept, and a restart with backoff and jitter from the last resourceVersion.
 */
export class SliceWatch implements WatchSource {
  readonly fanout = new WatchFanout();
  readonly #stop = new AbortController();
  readonly #service: string;
  readonly #options: ResolvedKubernetesOptions;
  readonly #http: KubernetesHttp;
  readonly #events: TypedEmitter<KubernetesRegistryEvents>;
  readonly #reporter: RejectionReporter;
  #state: SliceState | undefined;
  #resourceVersion = '';
  #staleSince: number | undefined;

  constructor(
    service: string,
    options: ResolvedKubernetesOptions,
    http: KubernetesHttp,
    events: TypedEmitter<KubernetesRegistryEvents>,
    reporter: RejectionReporter,
  ) {
    this.#service = service;
    this.#options = options;
    this.#http = http;
    this.#events = events;
    this.#reporter = reporter;
    void this.#run();
  }

  /** Ends the loop and aborts the request in flight. */
  close(): void {
    this.fanout.clear();
    this.#stop.abort();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const { minBackoffMs, maxBackoffMs, clock } = this.#options;
    let failures = 0;
    let expiredInARow = 0;
    while (!signal.aborted) {
      try {
        if (!this.#state) {
          this.#state = await listSlices(this.#http, this.#options, this.#service, signal);
          this.#resourceVersion = this.#state.resourceVersion;
          this.#publish();
          this.#recovered();
        }
        const useful = await this.#watchOnce(signal);
        if (useful) {
          failures = 0;
          expiredInARow = 0;
          continue;
        }
        await sleep(retryDelay(failures++, minBackoffMs, maxBackoffMs), signal, clock);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ResourceExpired) {
          // Relist at once the first time; back off if the server keeps expiring us (relist storms).
          this.#state = undefined;
          this.#events.emit('relist', { service: this.#service, resourceVersion: this.#resourceVersion });
          if (expiredInARow++ === 0) continue;
        } else {
          this.#stale(error as Error);
        }
        await sleep(retryDelay(failures++, minBackoffMs, maxBackoffMs), signal, clock).catch(() => undefined);
      }
    }
  }

  /**
   * One watch request, read to its end. Resolves true when it was worth it (it brought an event
   * or lasted a while), false when it ended at once; throws on errors, 410 and stalls.
   */
  async #watchOnce(stop: AbortSignal): Promise<boolean> {
    const { watchTimeoutSeconds, watchIdleMs, maxEventBytes, clock } = this.#options;
    const started = clock.now();
    const attempt = new AbortController();
    const onStop = () => attempt.abort(stop.reason);
    stop.addEventListener('abort', onStop, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const armWatchdog = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => {
        attempt.abort(
          new WatchStalled(`the EndpointSlice watch brought nothing for ${watchIdleMs} ms`, {
            service: this.#service,
          }),
        );
      }, watchIdleMs);
      idle.unref?.();
    };
    let events = 0;
    try {
      armWatchdog();
      const path =
        `${slicesPath(this.#options, this.#service)}&watch=1&allowWatchBookmarks=true` +
        `&timeoutSeconds=${watchTimeoutSeconds}&resourceVersion=${encodeURIComponent(this.#resourceVersion)}`;
      const response = await this.#http.get(path, this.#service, attempt.signal);
      this.#recovered();
      armWatchdog();
      const reader = response.body?.getReader();
      if (!reader) return false;
      // Cancelling the reader ends a pending read even where the body ignores the fetch signal.
      const cancel = () => void reader.cancel().catch(() => undefined);
      attempt.signal.addEventListener('abort', cancel, { once: true });
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (attempt.signal.aborted) throw attempt.signal.reason;
          if (done) break;
          armWatchdog();
          buffered += decoder.decode(value, { stream: true });
          let newline = buffered.indexOf('\n');
          while (newline >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line) {
              this.#apply(parseEvent(line, this.#service));
              events++;
            }
            newline = buffered.indexOf('\n');
          }
          if (buffered.length > maxEventBytes) {
            throw new RegistryProtocolError(`a watch event exceeds maxEventBytes (${maxEventBytes})`, {
              service: this.#service,
            });
          }
        }
      } catch (error) {
        cancel();
        throw attempt.signal.aborted && !stop.aborted ? attempt.signal.reason : error;
      } finally {
        attempt.signal.removeEventListener('abort', cancel);
      }
      return events > 0 || clock.now() - started >= MIN_USEFUL_WATCH_MS;
    } catch (error) {
      if (attempt.signal.aborted && !stop.aborted) throw attempt.signal.reason;
      throw error;
    } finally {
      if (idle) clearTimeout(idle);
      stop.removeEventListener('abort', onStop);
    }
  }

  #apply(event: WatchEvent): void {
    const state = this.#state;
    if (!state) return;
    const object = event.object;
    const version = object?.metadata?.resourceVersion;
    if (event.type === 'ERROR') {
      if (object?.code === 410) throw new ResourceExpired(object.message ?? 'resourceVersion expired');
      throw new RegistryUnavailableError(`watch error ${object?.code ?? '?'}: ${object?.message ?? ''}`, {
        service: this.#service,
      });
    }
    if (typeof version === 'string' && version) this.#resourceVersion = version;
    if (event.type === 'BOOKMARK') return;
    const name = object?.metadata?.name;
    if (typeof name !== 'string') return;
    if (event.type === 'DELETED') {
      state.slices.delete(name);
    } else {
      if (state.slices.size >= this.#options.maxSlices && !state.slices.has(name)) {
        throw new RegistryProtocolError(`more than maxSlices (${this.#options.maxSlices}) EndpointSlices`, {
          service: this.#service,
        });
      }
      state.slices.set(name, object);
    }
    this.#publish();
  }

  #publish(): void {
    const state = this.#state;
    if (!state) return;
    const { instances, rejected } = instancesFromSlices(this.#service, state.slices.values(), {
      port: this.#options.port,
      maxEndpoints: this.#options.maxEndpoints,
    });
    this.#reporter.report(this.#service, rejected);
    this.fanout.publish(Object.freeze(instances));
  }

  #stale(error: Error): void {
    if (this.#staleSince !== undefined) return;
    this.#staleSince = this.#options.clock.now();
    this.#events.emit('registryStale', { service: this.#service, error });
  }

  #recovered(): void {
    const since = this.#staleSince;
    if (since === undefined) return;
    this.#staleSince = undefined;
    const staleForMs = Math.max(0, this.#options.clock.now() - since);
    this.#events.emit('registryRecovered', { service: this.#service, staleForMs });
  }
}

const EVENT_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

function parseEvent(line: string, service: string): WatchEvent {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    throw new RegistryProtocolError('a watch event is not JSON', { service });
  }
  const candidate = event as Partial<WatchEvent>;
  if (
    typeof event !== 'object' ||
    event === null ||
    !EVENT_TYPES.has(candidate.type as string) ||
    typeof candidate.object !== 'object' ||
    candidate.object === null
  ) {
    throw new RegistryProtocolError('a watch event lacks type or object', { service });
  }
  return event as WatchEvent;
}
