import { originOf, type ServiceInstance } from '@switchyard/core';

/** The origin a request named (`http://users:8080`): what the instance must still see. */
export interface LogicalTarget {
  /** Lowercased, without port: what the service rule sees and the default TLS servername. */
  readonly hostname: string;
  /** With port when the URL had one: the Host header sent to the instance. */
  readonly host: string;
  /** `https:` was asked for: the instance is reached over TLS whatever its `secure` says. */
  readonly secure: boolean;
  /** The service it names, when the rule is known per hostname (not a function): found once. */
  readonly service: string | undefined;
}

const MAX_CACHED_ORIGINS = 1024;

/**
 * Parses request origins into targets, caching the strings seen (bounded: a flood of distinct
 * origins clears the cache rather than growing it).
 */
export class LogicalTargets {
  readonly #cache = new Map<string, LogicalTarget | null>();
  readonly #match: ((hostname: string) => string | undefined) | undefined;

  /** `match`: the service a hostname names, for a rule that always gives the same answer. */
  constructor(match?: (hostname: string) => string | undefined) {
    this.#match = match;
  }

  of(origin: unknown): LogicalTarget | undefined {
    if (origin instanceof URL) return this.#targetOf(origin);
    if (typeof origin !== 'string') return undefined;
    let target = this.#cache.get(origin);
    if (target === undefined) {
      target = URL.canParse(origin) ? this.#targetOf(new URL(origin)) : null;
      if (this.#cache.size >= MAX_CACHED_ORIGINS) this.#cache.clear();
      this.#cache.set(origin, target);
    }
    return target ?? undefined;
  }

  #targetOf(url: URL): LogicalTarget {
    const hostname = url.hostname;
    return { hostname, host: url.host, secure: url.protocol === 'https:', service: this.#match?.(hostname) };
  }
}

/** Instance origins for plain and TLS requests, computed once per (frozen) instance. */
export class InstanceOrigins {
  readonly #plain = new WeakMap<ServiceInstance, string>();
  readonly #tls = new WeakMap<ServiceInstance, string>();

  of(instance: ServiceInstance, tls: boolean): string {
    const cache = tls ? this.#tls : this.#plain;
    let origin = cache.get(instance);
    if (origin === undefined) {
      origin = originOf(tls && !instance.secure ? { ...instance, secure: true } : instance);
      cache.set(instance, origin);
    }
    return origin;
  }
}
