import {
  type Clock,
  describeValue,
  MAX_TIMER_MS,
  rejectUnknownOptions,
  ValidationError,
  validateClock,
} from '@switchyard/core';

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
  /** Largest health answer read, in bytes; a bigger one is refused and the last list kept. Default 16 MiB. */
  readonly maxResponseBytes?: number;
  /** Most entries a health answer may hold; more is refused and the last list kept. Default 10,000. */
  readonly maxInstances?: number;
  /** Replaces the global fetch (looked up at each request otherwise, so test interceptors see it). */
  readonly fetch?: FetchLike;
  readonly clock?: Clock;
}

/** Every option {@link ConsulRegistry} knows; anything else is a typo and is refused. */
export const CONSUL_OPTION_KEYS: readonly string[] = Object.freeze([
  'url',
  'token',
  'datacenter',
  'tag',
  'consistency',
  'waitMs',
  'requestTimeoutMs',
  'deregisterCriticalAfterMs',
  'defaultTtlMs',
  'minBackoffMs',
  'maxBackoffMs',
  'maxResponseBytes',
  'maxInstances',
  'fetch',
  'clock',
]);

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
  readonly maxResponseBytes: number;
  readonly maxInstances: number;
  readonly fetch: FetchLike | undefined;
  readonly clock: Clock;
}

/** Validates every option up front; throws a ValidationError naming the bad one. */
export function resolveConsulOptions(options: ConsulRegistryOptions): ResolvedConsulOptions {
  if (options === undefined) {
    throw new ValidationError('url', "required: new ConsulRegistry({ url: 'http://127.0.0.1:8500' })");
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ValidationError(
      'options',
      `expected an object with at least { url }, got ${describeValue(options)}`,
    );
  }
  rejectUnknownOptions(options, CONSUL_OPTION_KEYS, 'ConsulRegistry options');
  if (options.url === undefined) {
    throw new ValidationError('url', "required: the agent's HTTP address, e.g. 'http://127.0.0.1:8500'");
  }
  let url: URL;
  try {
    if (typeof options.url !== 'string') throw new TypeError('not a string');
    url = new URL(options.url);
  } catch {
    throw new ValidationError('url', `expected an absolute http(s) URL, got ${describeValue(options.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError('url', `expected http: or https:, got ${url.protocol}`);
  }
  for (const field of ['token', 'datacenter', 'tag'] as const) {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw new ValidationError(field, `expected a non-empty string, got ${describeValue(value)}`);
    }
  }
  const consistency = options.consistency ?? 'default';
  if (!['default', 'stale', 'consistent'].includes(consistency)) {
    throw new ValidationError(
      'consistency',
      `expected default, stale or consistent, got ${describeValue(consistency)}`,
    );
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new ValidationError(
      'fetch',
      `expected a fetch-compatible function, got ${describeValue(options.fetch)}`,
    );
  }
  const clock = validateClock(options.clock);
  const minBackoffMs = positive('minBackoffMs', options.minBackoffMs, 250);
  const maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs, 30_000);
  if (minBackoffMs > maxBackoffMs) {
    throw new ValidationError(
      'minBackoffMs',
      `must not exceed maxBackoffMs (${minBackoffMs} > ${maxBackoffMs})`,
    );
  }
  const waitMs = positive('waitMs', options.waitMs, 30_000);
  if (waitMs > 600_000)
    throw new ValidationError('waitMs', `Consul waits at most 600,000 ms, got ${describeValue(waitMs)}`);
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
    maxResponseBytes: count('maxResponseBytes', options.maxResponseBytes, 16 * 1024 * 1024),
    maxInstances: count('maxInstances', options.maxInstances, 10_000),
    fetch: options.fetch,
    clock,
  };
}

function count(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(field, `expected an integer >= 1, got ${describeValue(value)}`);
  }
  return value;
}

function positive(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new ValidationError(
      field,
      `expected a number of milliseconds > 0 and ≤ ${MAX_TIMER_MS}, got ${describeValue(value)}`,
    );
  }
  return value;
}
