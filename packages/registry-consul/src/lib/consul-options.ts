import { type Clock, systemClock, ValidationError } from '@switchyard/core';

/** The fetch signature the adapter needs (globalThis.fetch fits). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link ConsulRegistry}. Only `url` is required. */
export interface ConsulRegistryOptions {
  /** The Consul agent's HTTP address, e.g. `http://127.0.0.1:8500`. */
  readonly url: string;
  /** ACL token, sent as `X-Consul-Token`. */
  readonly token?: string;
  /** Query this datacenter (`?dc=`) instead of the agent's. */
  readonly datacenter?: string;
  /** Only instances carrying this tag (`?tag=`); also added to the tags of registrations. */
  readonly tag?: string;
  /** Read mode: `default` (leader, may be briefly stale), `stale` (any server), `consistent`. */
  readonly consistency?: 'default' | 'stale' | 'consistent';
  /** How long a blocking query may wait for a change. Default 30,000 ms (Consul caps it at 10 min). */
  readonly waitMs?: number;
  /** Deadline of non-blocking calls; blocking ones get wait + wait/16 (Consul's jitter) + this. Default 5,000 ms. */
  readonly requestTimeoutMs?: number;
  /** `DeregisterCriticalServiceAfter` of registrations' TTL checks. Default 60,000 ms (Consul's minimum). */
  readonly deregisterCriticalAfterMs?: number;
  /** TTL of registrations without `ttlMs`. Default 10,000 ms. */
  readonly defaultTtlMs?: number;
  /** Backoff bounds after a failed watch request. Defaults 250 ms and 30,000 ms. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Replaces the global fetch (looked up at each request otherwise, so test interceptors see it). */
  readonly fetch?: FetchLike;
  readonly clock?: Clock;
}

export interface ResolvedConsulOptions {
  readonly url: string;
  readonly token: string | undefined;
  readonly datacenter: string | undefined;
  readonly tag: string | undefined;
  readonly consistency: 'default' | 'stale' | 'consistent';
  readonly waitMs: number;
  readonly requestTimeoutMs: number;
  readonly deregisterCriticalAfterMs: number;
  readonly defaultTtlMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly fetch: FetchLike | undefined;
  readonly clock: Clock;
}

/** Validates every option up front; throws a ValidationError naming the bad one. */
export function resolveConsulOptions(options: ConsulRegistryOptions): ResolvedConsulOptions {
  if (options === null || typeof options !== 'object') {
    throw new ValidationError('options', 'expected an object with at least { url }');
  }
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ValidationError('url', `expected an absolute http(s) URL, got ${JSON.stringify(options.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError('url', `expected http: or https:, got ${url.protocol}`);
  }
  for (const field of ['token', 'datacenter', 'tag'] as const) {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw new ValidationError(field, `expected a non-empty string, got ${JSON.stringify(value)}`);
    }
  }
  const consistency = options.consistency ?? 'default';
  if (!['default', 'stale', 'consistent'].includes(consistency)) {
    throw new ValidationError(
      'consistency',
      `expected default, stale or consistent, got ${JSON.stringify(consistency)}`,
    );
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new ValidationError('fetch', 'expected a fetch-compatible function');
  }
  const minBackoffMs = positive('minBackoffMs', options.minBackoffMs, 250);
  const maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs, 30_000);
  if (minBackoffMs > maxBackoffMs) {
    throw new ValidationError(
      'minBackoffMs',
      `must not exceed maxBackoffMs (${minBackoffMs} > ${maxBackoffMs})`,
    );
  }
  const waitMs = positive('waitMs', options.waitMs, 30_000);
  if (waitMs > 600_000) throw new ValidationError('waitMs', `Consul waits at most 600,000 ms, got ${waitMs}`);
  return {
    url: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    token: options.token,
    datacenter: options.datacenter,
    tag: options.tag,
    consistency,
    waitMs,
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 5_000),
    deregisterCriticalAfterMs: positive(
      'deregisterCriticalAfterMs',
      options.deregisterCriticalAfterMs,
      60_000,
    ),
    defaultTtlMs: positive('defaultTtlMs', options.defaultTtlMs, 10_000),
    minBackoffMs,
    maxBackoffMs,
    fetch: options.fetch,
    clock: options.clock ?? systemClock,
  };
}

function positive(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError(field, `expected a finite number of milliseconds > 0, got ${String(value)}`);
  }
  return value;
}
