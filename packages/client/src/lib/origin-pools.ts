import { originOf, type ServiceInstance, ValidationError } from '@switchyard/core';
import { LRUCache } from 'lru-cache';
import { Pool } from 'undici';
import {
  type InstanceTlsOptions,
  type InstanceTlsProfile,
  resolveInstanceTls,
  servernameFor,
} from './instance-tls.ts';

export interface OriginPoolsOptions {
  /** Origins whose pools are kept; the least recently used beyond this are closed. */
  readonly maxOrigins?: number;
  /** Passed to every undici Pool (connections, keepAliveTimeout, pipelining…). */
  readonly poolOptions?: Pool.Options;
  /** TLS to secure instances, for every service… */
  readonly tls?: InstanceTlsOptions;
  /** …unless a service has its own (which replaces it as a whole). */
  readonly services?: Readonly<Record<string, { readonly tls?: InstanceTlsOptions }>>;
}

/** Where one instance's requests go: its pool's key, and the TLS name to send and check. */
export interface InstanceRoute {
  readonly key: string;
  readonly origin: string;
  /** Sent with each request too, so that a `Host` header cannot change what is verified. */
  readonly servername: string | undefined;
  readonly tls: InstanceTlsProfile | undefined;
}

/**
 * One undici Pool per instance origin and TLS setting, reused across calls: two services that
 * reach the same host:port with different CAs, client certificates or names never share a
 * connection. Bounded by an LRU so origins of instances that left long ago do not keep sockets;
 * an evicted pool closes gracefully (its in-flight requests finish first).
 */
export class OriginPools {
  readonly #pools: LRUCache<string, Pool>;
  readonly #poolOptions: Pool.Options;
  /** Instances are frozen values: their route is worked out once, not per request. */
  readonly #routes = new WeakMap<ServiceInstance, InstanceRoute>();
  readonly #clientTls: InstanceTlsProfile | undefined;
  readonly #serviceTls = new Map<string, InstanceTlsProfile>();
  #closed = false;

  /** Throws a ValidationError for a bad `tls` option (see `resolveInstanceTls`). */
  constructor(options: OriginPoolsOptions = {}) {
    this.#poolOptions = options.poolOptions ?? {};
    let ids = 0;
    if (options.tls !== undefined) this.#clientTls = resolveInstanceTls(options.tls, 'tls', ++ids);
    for (const [service, own] of Object.entries(options.services ?? {})) {
      if (own?.tls !== undefined) {
        this.#serviceTls.set(service, resolveInstanceTls(own.tls, `services.${service}.tls`, ++ids));
      }
    }
    if (ids > 0 && typeof this.#poolOptions.connect === 'function') {
      throw new ValidationError(
        'poolOptions.connect',
        'a custom connector cannot take the tls option: set TLS in the connector or use tls',
      );
    }
    this.#pools = new LRUCache<string, Pool>({
      max: options.maxOrigins ?? 256,
      dispose: (pool) => {
        pool.close().catch(() => pool.destroy());
      },
    });
  }

  /** How `instance` is reached (cached per instance object). */
  route(instance: ServiceInstance): InstanceRoute {
    let route = this.#routes.get(instance);
    if (route === undefined) {
      route = this.#routeOf(instance);
      this.#routes.set(instance, route);
    }
    return route;
  }

  /** The pool for a route, created on first use. */
  pool(route: InstanceRoute): Pool {
    if (this.#closed) throw new Error('client is closed');
    let pool = this.#pools.get(route.key);
    if (pool === undefined) {
      pool = new Pool(route.origin, this.#optionsFor(route));
      this.#pools.set(route.key, pool);
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

  #routeOf(instance: ServiceInstance): InstanceRoute {
    const origin = originOf(instance);
    const tls = instance.secure ? (this.#serviceTls.get(instance.service) ?? this.#clientTls) : undefined;
    if (tls === undefined) return { key: origin, origin, servername: undefined, tls };
    const servername = servernameFor(tls, instance.service);
    // Spaces cannot occur in an origin or a DNS name: the key is unambiguous.
    return { key: `${origin} ${tls.id} ${servername ?? ''}`, origin, servername, tls };
  }

  #optionsFor(route: InstanceRoute): Pool.Options {
    const tls = route.tls;
    if (tls === undefined) return this.#poolOptions;
    const connect = this.#poolOptions.connect;
    return {
      ...this.#poolOptions,
      connect: {
        ...(typeof connect === 'object' ? connect : undefined),
        secureContext: tls.secureContext,
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(route.servername === undefined ? {} : { servername: route.servername }),
      },
    };
  }
}
