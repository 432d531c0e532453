import type { RejectionLog } from '@switchyard/core';
import {
  type Clock,
  RegistryProtocolError,
  RegistryUnavailableError,
  type ServiceInstance,
  type TimerHandle,
  type TypedEmitter,
  WatchFanout,
  type WatchSource,
} from '@switchyard/core';
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { decodeEntry } from './decode-entry.ts';
import type { EtcdRegistryEvents } from './etcd-events.ts';
import { retryDelay } from './retry-delay.ts';

const MAX_TOMBSTONES = 1024;

/** The last applied state of one key: its mod revision, and the instance (none when deleted or invalid). */
interface KeyState {
  readonly revision: bigint;
  readonly instance: ServiceInstance | undefined;
}

interface WatchContext {
  readonly client: Etcd3;
  readonly clock: Clock;
  readonly events: TypedEmitter<EtcdRegistryEvents>;
  /** Most keys the service may hold; past it the last list stays and the watch re-checks with a get. */
  readonly maxInstances: number;
  readonly rejections: RejectionLog;
}

/**
 * Keeps one service's instance list in step with etcd: a ranged get, then a watch on the
 * service's prefix from the get's revision + 1. After a dropped stream the watch resumes from
 * the last revision this class *applied* (etcd3 alone would resume from the revision in the
 * last response header, which skips events still in flight), and an event whose mod revision
 * is not newer than what its key already holds is ignored, so nothing is lost or applied
 * twice. A cancelled watch (revision compacted away) falls back to a fresh get. A service
 * with more than `maxInstances` keys keeps its last list (`registryStale`): the get asks for
 * one key more than that (etcd's `limit`), and a watch that grows past it stops and goes back
 * to gets with backoff until the service is small enough again.
 */
export class ServiceWatch implements WatchSource {
  readonly fanout = new WatchFanout();
  readonly #keys = new Map<string, KeyState>();
  #revision = 0n;
  #live = 0;
  #watcher: Watcher | undefined;
  #timer: TimerHandle | undefined;
  #attempt = 0;
  #staleSince: number | undefined;
  #closed = false;

  constructor(
    readonly service: string,
    readonly keyPrefix: string,
    readonly context: WatchContext,
  ) {
    void this.#sync();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.fanout.clear();
    if (this.#timer !== undefined) this.context.clock.clearTimeout(this.#timer);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    await watcher?.cancel().catch(() => undefined);
  }

  async #sync(): Promise<void> {
    try {
      const max = this.context.maxInstances;
      const answer = await this.context.client
        .getAll()
        .prefix(this.keyPrefix)
        .limit(max + 1)
        .exec();
      if (this.#closed) return;
      if (answer.kvs.length > max) {
        this.#overflow();
        return;
      }
      const present = new Set<string>();
      for (const kv of answer.kvs) {
        present.add(kv.key.toString());
        this.#applyPut(kv);
      }
      // Keys gone while nobody watched (or tombstones of deletes) are dropped from the state.
      for (const key of this.#keys.keys()) if (!present.has(key)) this.#keys.delete(key);
      this.#revision = BigInt(answer.header.revision);
      this.#attempt = 0;
      this.#publish();
      this.#markRecovered();
      this.#startWatcher();
    } catch (error) {
      if (this.#closed) return;
      this.#markStale(`etcd get failed: ${(error as Error).message}`, error);
      this.context.events.emit('error', { service: this.service, operation: 'watch', error: error as Error });
      this.#timer = this.context.clock.setTimeout(() => void this.#sync(), retryDelay(this.#attempt++));
    }
  }

  #startWatcher(): void {
    const watcher = this.context.client
      .watch()
      .prefix(this.keyPrefix)
      .startRevision(String(this.#revision + 1n))
      .watcher();
    this.#watcher = watcher;
    watcher.on('data', (response: IWatchResponse) => this.#onData(response));
    watcher.on('disconnected', (error: Error) => {
      if (watcher !== this.#watcher) return;
      // Resume from what was applied, not from the last header etcd3 saw.
      watcher.request.start_revision = String(this.#revision + 1n);
      this.#markStale(`watch stream lost: ${error.message}`, error);
    });
    watcher.on('connected', () => {
      if (watcher === this.#watcher) this.#markRecovered();
    });
    watcher.on('error', (error: Error) => {
      // etcd cancelled the watch (typically: our revision was compacted). Start over from a get.
      if (this.#closed || watcher !== this.#watcher) return;
      this.#watcher = undefined;
      this.context.events.emit('error', { service: this.service, operation: 'watch', error });
      void watcher.cancel().catch(() => undefined);
      void this.#sync();
    });
  }

  #onData(response: IWatchResponse): void {
    if (this.#closed || this.#watcher === undefined) return;
    for (const event of response.events) {
      const revision = BigInt(event.kv.mod_revision);
      if (event.type === 'Put') this.#applyPut(event.kv);
      else this.#applyDelete(event.kv.key.toString(), revision);
      if (revision > this.#revision) this.#revision = revision;
    }
    let live = 0;
    for (const state of this.#keys.values()) if (state.instance) live++;
    if (live > this.context.maxInstances) {
      const watcher = this.#watcher;
      this.#watcher = undefined;
      void watcher.cancel().catch(() => undefined);
      this.#overflow();
      return;
    }
    this.#publish();
  }

  /** Too many keys: keep the last list, say why, and check again later with a bounded get. */
  #overflow(): void {
    const max = this.context.maxInstances;
    const error = new RegistryProtocolError(`more than maxInstances (${max}) keys under ${this.keyPrefix}`, {
      service: this.service,
    });
    this.#markStale(error.message, error, error);
    this.#timer = this.context.clock.setTimeout(() => void this.#sync(), retryDelay(this.#attempt++));
  }

  #applyPut(kv: IKeyValue): void {
    const key = kv.key.toString();
    const revision = BigInt(kv.mod_revision);
    const known = this.#keys.get(key);
    if (known && known.revision >= revision) return;
    const decoded = decodeEntry(this.service, key.slice(this.keyPrefix.length), kv.value.toString());
    if (decoded.ok) this.context.rejections.forget(this.service, key);
    else if (this.context.rejections.note(this.service, key, decoded.reason)) {
      this.context.events.emit('invalidInstance', {
        service: this.service,
        key,
        reason: decoded.reason,
        error: decoded.error,
      });
    }
    this.#keys.set(key, { revision, instance: decoded.ok ? decoded.instance : undefined });
  }

  #applyDelete(key: string, revision: bigint): void {
    const known = this.#keys.get(key);
    if (known && known.revision >= revision) return;
    // A tombstone, so that a replayed older put of this key cannot bring it back.
    this.#keys.set(key, { revision, instance: undefined });
    this.context.rejections.forget(this.service, key);
  }

  /**
   * Tombstones guard against a replayed older put of a deleted key. Resuming from the applied
   * revision means etcd never replays anything at or below it, so once there are many, those
   * below the applied revision can go: memory stays bounded under churn (new ids per deploy).
   */
  #pruneTombstones(): void {
    if (this.#keys.size - this.#live < MAX_TOMBSTONES) return;
    for (const [key, state] of this.#keys) {
      if (!state.instance && state.revision < this.#revision) this.#keys.delete(key);
    }
  }

  #publish(): void {
    const next: ServiceInstance[] = [];
    for (const state of this.#keys.values()) if (state.instance) next.push(state.instance);
    this.#live = next.length;
    this.#pruneTombstones();
    this.fanout.publish(Object.freeze(next));
  }

  #markStale(reason: string, cause: unknown, typed?: Error): void {
    if (this.#staleSince !== undefined || this.#closed) return;
    this.#staleSince = this.context.clock.now();
    const error = typed ?? new RegistryUnavailableError(reason, { service: this.service, cause });
    this.context.events.emit('registryStale', { service: this.service, error });
  }

  #markRecovered(): void {
    const since = this.#staleSince;
    if (since === undefined || this.#closed) return;
    this.#staleSince = undefined;
    const staleForMs = Math.max(0, this.context.clock.now() - since);
    this.context.events.emit('registryRecovered', { service: this.service, staleForMs });
  }
}
