import {
  type Clock,
  describeValue,
  MAX_TIMER_MS,
  rejectUnknownOptions,
  ValidationError,
  validateClock,
} from '@switchyard/core';
import type { IOptions } from 'etcd3';
import { jitteredBackoff } from './retry-delay.ts';

/** Options of {@link EtcdRegistry}. Only `hosts` is required. */
export interface EtcdRegistryOptions {
  /** Client URLs of one or more cluster members, with scheme: `http://10.0.0.1:2379`. */
  readonly hosts: string | readonly string[];
  /** Key prefix under which `<service>/<id>` keys live. Default `/services/`. */
  readonly prefix?: string;
  /** Password authentication, passed through to etcd3. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** TLS material, passed through to etcd3 (use `https://` hosts). */
  readonly credentials?: {
    readonly rootCertificate: Buffer;
    readonly privateKey?: Buffer;
    readonly certChain?: Buffer;
  };
  /** How long to wait for a connection. Default 5,000 ms. */
  readonly dialTimeoutMs?: number;
  /** Deadline of each unary call (get, put, grant…). Default 5,000 ms. */
  readonly requestTimeoutMs?: number;
  /** Lease TTL when `register` gets no `ttlMs`. Default 10,000 ms (etcd counts whole seconds). */
  readonly defaultTtlMs?: number;
  /**
   * How often each registration asks etcd for its lease's remaining TTL. The keepalive stream
   * can look open while the lease is gone (revoked, or expired during a partition); this check
   * catches that. Default: a third of the TTL.
   */
  readonly leaseCheckMs?: number;
  /** Revoke owned leases on `close()` (instances vanish at once). Default true; false lets them expire. */
  readonly revokeOnClose?: boolean;
  /**
   * Most keys a service may hold. Range requests ask for one more (etcd's `limit`), so a bigger
   * answer is refused before it is read in full; the last list stays. Default 10,000.
   */
  readonly maxInstances?: number;
  readonly clock?: Clock;
}

/** Every option {@link EtcdRegistry} knows; anything else is a typo and is refused. */
export const ETCD_OPTION_KEYS: readonly string[] = Object.freeze([
  'hosts',
  'prefix',
  'auth',
  'credentials',
  'dialTimeoutMs',
  'requestTimeoutMs',
  'defaultTtlMs',
  'leaseCheckMs',
  'revokeOnClose',
  'maxInstances',
  'clock',
]);

/** Options after validation, with defaults applied. */
export interface ResolvedEtcdOptions {
  readonly prefix: string;
  readonly requestTimeoutMs: number;
  readonly defaultTtlMs: number;
  readonly leaseCheckMs: number | undefined;
  readonly revokeOnClose: boolean;
  readonly maxInstances: number;
  readonly clock: Clock;
  readonly client: IOptions;
}

/** Validates every option up front; throws a ValidationError naming the bad one. */
export function resolveEtcdOptions(options: EtcdRegistryOptions): ResolvedEtcdOptions {
  if (options === undefined) {
    throw new ValidationError('hosts', "required: new EtcdRegistry({ hosts: ['http://127.0.0.1:2379'] })");
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ValidationError(
      'options',
      `expected an object with at least { hosts }, got ${describeValue(options)}`,
    );
  }
  rejectUnknownOptions(options, ETCD_OPTION_KEYS, 'EtcdRegistry options');
  const hosts = typeof options.hosts === 'string' ? [options.hosts] : options.hosts;
  if (!Array.isArray(hosts) || hosts.length === 0) {
    throw new ValidationError(
      'hosts',
      `required: one or more etcd client URLs such as 'http://127.0.0.1:2379', got ${describeValue(options.hosts)}`,
    );
  }
  hosts.forEach((host, index) => {
    if (typeof host !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(host)) {
      throw new ValidationError(
        `hosts[${index}]`,
        `expected http(s)://host:port, got ${describeValue(host)}`,
      );
    }
  });
  const prefix = options.prefix ?? '/services/';
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new ValidationError(
      'prefix',
      `expected a non-empty string such as "/services/", got ${describeValue(prefix)}`,
    );
  }
  if (options.revokeOnClose !== undefined && typeof options.revokeOnClose !== 'boolean') {
    throw new ValidationError(
      'revokeOnClose',
      `expected a boolean, got ${describeValue(options.revokeOnClose)}`,
    );
  }
  const maxInstances = options.maxInstances ?? 10_000;
  if (typeof maxInstances !== 'number' || !Number.isSafeInteger(maxInstances) || maxInstances < 1) {
    throw new ValidationError('maxInstances', `expected an integer >= 1, got ${describeValue(maxInstances)}`);
  }
  const clock = validateClock(options.clock);
  const dialTimeoutMs = positive('dialTimeoutMs', options.dialTimeoutMs, 5_000);
  const requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, 5_000);
  const defaultTtlMs = positive('defaultTtlMs', options.defaultTtlMs, 10_000);
  const leaseCheckMs =
    options.leaseCheckMs === undefined ? undefined : positive('leaseCheckMs', options.leaseCheckMs, 0);
  if (
    options.auth !== undefined &&
    (typeof options.auth?.username !== 'string' || typeof options.auth?.password !== 'string')
  ) {
    throw new ValidationError(
      'auth',
      `expected { username, password } strings, got ${describeValue(options.auth)}`,
    );
  }
  if (options.credentials !== undefined && !Buffer.isBuffer(options.credentials?.rootCertificate)) {
    throw new ValidationError(
      'credentials.rootCertificate',
      `expected a Buffer with the CA certificate, got ${describeValue(options.credentials?.rootCertificate)}`,
    );
  }
  const client: IOptions = {
    hosts: [...hosts],
    dialTimeout: dialTimeoutMs,
    // Streams (watch, keepalive) live for ever; only unary calls get a deadline.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
    // etcd3's default watch backoff grows to 30 s; a registry outage should not cost that much.
    faultHandling: { watchBackoff: jitteredBackoff() },
    ...(options.auth ? { auth: { username: options.auth.username, password: options.auth.password } } : {}),
    ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
  };
  return {
    prefix: prefix.endsWith('/') ? prefix : `${prefix}/`,
    requestTimeoutMs,
    defaultTtlMs,
    leaseCheckMs,
    revokeOnClose: options.revokeOnClose ?? true,
    maxInstances,
    clock,
    client,
  };
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
