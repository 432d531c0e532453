import { type Clock, systemClock, ValidationError } from '@switchyard/core';
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
  readonly clock?: Clock;
}

/** Options after validation, with defaults applied. */
export interface ResolvedEtcdOptions {
  readonly prefix: string;
  readonly requestTimeoutMs: number;
  readonly defaultTtlMs: number;
  readonly leaseCheckMs: number | undefined;
  readonly revokeOnClose: boolean;
  readonly clock: Clock;
  readonly client: IOptions;
}

/** Validates every option up front; throws a ValidationError naming the bad one. */
export function resolveEtcdOptions(options: EtcdRegistryOptions): ResolvedEtcdOptions {
  if (options === null || typeof options !== 'object') {
    throw new ValidationError('options', 'expected an object with at least { hosts }');
  }
  const hosts = typeof options.hosts === 'string' ? [options.hosts] : options.hosts;
  if (!Array.isArray(hosts) || hosts.length === 0) {
    throw new ValidationError('hosts', 'expected one or more etcd client URLs');
  }
  hosts.forEach((host, index) => {
    if (typeof host !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(host)) {
      throw new ValidationError(
        `hosts[${index}]`,
        `expected http(s)://host:port, got ${JSON.stringify(host)}`,
      );
    }
  });
  const prefix = options.prefix ?? '/services/';
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new ValidationError('prefix', 'expected a non-empty string such as "/services/"');
  }
  const dialTimeoutMs = positive('dialTimeoutMs', options.dialTimeoutMs, 5_000);
  const requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, 5_000);
  const defaultTtlMs = positive('defaultTtlMs', options.defaultTtlMs, 10_000);
  const leaseCheckMs =
    options.leaseCheckMs === undefined ? undefined : positive('leaseCheckMs', options.leaseCheckMs, 0);
  if (
    options.auth !== undefined &&
    (typeof options.auth?.username !== 'string' || typeof options.auth?.password !== 'string')
  ) {
    throw new ValidationError('auth', 'expected { username, password } strings');
  }
  if (options.credentials !== undefined && !Buffer.isBuffer(options.credentials?.rootCertificate)) {
    throw new ValidationError('credentials.rootCertificate', 'expected a Buffer with the CA certificate');
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
    clock: options.clock ?? systemClock,
    client,
  };
}

function positive(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError(field, `expected a finite number of milliseconds > 0, got ${String(value)}`);
  }
  return value;
}
