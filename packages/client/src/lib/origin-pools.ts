import { originOf, type ServiceInstance } from '@switchyard/core';
import { LRUCache } from 'lru-cache';
import { Pool } from 'undici';

export interface OriginPoolsOptions {
  /** Origins whose pools are kept; the least recently used beyond this are closed. */
  readonly maxOrigins?: number;
  /** Passed to every undici Pool (connections, keepAliveTimeout, pipelining, tls…). */
  readonly poolOptions?: Pool.Options;
}

/**
 * One undici Pool per instance origin, reused across calls. Bounded by an LRU so origins of
 * instances that left long ago do not keep sockets; an evicted pool closes gracefully (its
 * in-flight requests finish first).
 */
export class OriginPools {
  readonly #pools: LRUCache<string, Pool>;
  readonly #poolOptions: Pool.Options;
  /** Instances are frozen values: their origin string is computed once, not per request. */
  readonly #origins = new WeakMap<ServiceInstance, string>();
  #closed = false;

  constructor(options: OriginPoolsOptions = {}) {
    this.#poolOptions = options.poolOptions ?? {};
    this.#pools = new LRUCache<string, Pool>({
      max: options.maxOrigins ?? 256,
      dispose: (pool) => {
        pool.close().catch(() => pool.destroy());
      },
    });
  }

  /** The pool for `instance`'s origin, created on first use. */
  for(instance: ServiceInstance): Pool {
    if (this.#closed) throw new Error('client is closed');
    let origin = this.#origins.get(instance);
    if (origin === undefined) {
      origin = originOf(instance);
      this.#origins.set(instance, origin);
    }
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, this.#poolOptions);
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  get size(): number {
    return this.#pools.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear(); // dispose starts each close; wait for them below
    await Promise.allSettled(pools.map((pool) => (pool.closed ? undefined : pool.close())));
  }
}
