import { Resolver } from 'node:dns';
import {
  type Clock,
  describeValue,
  MAX_TIMER_MS,
  rejectUnknownOptions,
  ValidationError,
  validateClock,
  validatePort,
} from '@switchyard/core';

/** Options of {@link DnsRegistry}. */
export interface DnsRegistryOptions {
  /**
   * What to ask: `srv` (SRV records give port, priority and weight; targets are then resolved
   * to addresses) or `a` (A and AAAA records, with the fixed `port` below).
   */
  readonly mode: 'srv' | 'a';
  /** DNS servers as `ip` or `ip:port` (`127.0.0.1:5353`, `[::1]:53`). Default: the system's. */
  readonly servers?: readonly string[];
  /** Port for A/AAAA answers. Required in `a` mode; in `srv` mode it enables the A/AAAA fallback. */
  readonly port?: number;
  /** The record name to query for a service. Default: the service name itself. */
  readonly nameFor?: (service: string) => string;
  /** Bounds for the refresh interval of a watch (record TTLs are clamped into them). Defaults 1 s and 60 s. */
  readonly minTtlMs?: number;
  readonly maxTtlMs?: number;
  /** Per-query timeout and tries, handed to the resolver. Defaults 2,000 ms and 2. */
  readonly timeoutMs?: number;
  readonly tries?: number;
  /** Instances from DNS speak https. Default false. */
  readonly secure?: boolean;
  /**
   * Most records an answer may use: SRV records, and addresses per name. A bigger answer is
   * refused (a watch keeps its last list and emits `registryStale`). Default 1,000.
   */
  readonly maxRecords?: number;
  readonly clock?: Clock;
}

/** Every option {@link DnsRegistry} knows; anything else is a typo and is refused. */
export const DNS_OPTION_KEYS: readonly string[] = Object.freeze([
  'mode',
  'servers',
  'port',
  'nameFor',
  'minTtlMs',
  'maxTtlMs',
  'timeoutMs',
  'tries',
  'secure',
  'maxRecords',
  'clock',
]);

export interface ResolvedDnsOptions {
  readonly mode: 'srv' | 'a';
  readonly servers: readonly string[] | undefined;
  readonly port: number | undefined;
  readonly nameFor: (service: string) => string;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly timeoutMs: number;
  readonly tries: number;
  readonly secure: boolean;
  readonly maxRecords: number;
  readonly clock: Clock;
}

/** Validates every option up front; throws a ValidationError naming the bad one. */
export function resolveDnsOptions(options: DnsRegistryOptions): ResolvedDnsOptions {
  if (options === undefined) {
    throw new ValidationError('mode', "required: new DnsRegistry({ mode: 'srv' }) or { mode: 'a', port }");
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ValidationError(
      'options',
      `expected an object with at least { mode: 'srv' | 'a' }, got ${describeValue(options)}`,
    );
  }
  rejectUnknownOptions(options, DNS_OPTION_KEYS, 'DnsRegistry options');
  if (options.mode !== 'srv' && options.mode !== 'a') {
    throw new ValidationError(
      'mode',
      `${options.mode === undefined ? 'required: ' : ''}expected 'srv' or 'a', got ${describeValue(options.mode)}`,
    );
  }
  const port = options.port === undefined ? undefined : validatePort(options.port);
  if (options.mode === 'a' && port === undefined) {
    throw new ValidationError('port', "required in 'a' mode: A/AAAA records carry no port");
  }
  if (options.servers !== undefined) {
    if (!Array.isArray(options.servers) || options.servers.length === 0) {
      throw new ValidationError(
        'servers',
        `expected a non-empty list such as ["127.0.0.1:5353"], got ${describeValue(options.servers)}`,
      );
    }
    options.servers.forEach((server, index) => {
      try {
        // The resolver's own parser accepts exactly what lookups will (IPs, not host names).
        new Resolver().setServers([server]);
      } catch {
        throw new ValidationError(
          `servers[${index}]`,
          `expected "ip" or "ip:port", got ${describeValue(server)}`,
        );
      }
    });
  }
  if (options.nameFor !== undefined && typeof options.nameFor !== 'function') {
    throw new ValidationError(
      'nameFor',
      `expected a function (service) => record name, got ${describeValue(options.nameFor)}`,
    );
  }
  if (options.secure !== undefined && typeof options.secure !== 'boolean') {
    throw new ValidationError('secure', `expected a boolean, got ${describeValue(options.secure)}`);
  }
  const maxRecords = options.maxRecords ?? 1_000;
  if (typeof maxRecords !== 'number' || !Number.isSafeInteger(maxRecords) || maxRecords < 1) {
    throw new ValidationError('maxRecords', `expected an integer >= 1, got ${describeValue(maxRecords)}`);
  }
  const clock = validateClock(options.clock);
  const minTtlMs = positive('minTtlMs', options.minTtlMs, 1_000);
  const maxTtlMs = positive('maxTtlMs', options.maxTtlMs, 60_000);
  if (minTtlMs > maxTtlMs) {
    throw new ValidationError('minTtlMs', `must not exceed maxTtlMs (${minTtlMs} > ${maxTtlMs})`);
  }
  const tries = positive('tries', options.tries, 2);
  if (!Number.isInteger(tries))
    throw new ValidationError('tries', `expected an integer, got ${describeValue(tries)}`);
  return {
    mode: options.mode,
    servers: options.servers ? [...options.servers] : undefined,
    port,
    nameFor: options.nameFor ?? ((service) => service),
    minTtlMs,
    maxTtlMs,
    timeoutMs: positive('timeoutMs', options.timeoutMs, 2_000),
    tries,
    secure: options.secure ?? false,
    maxRecords,
    clock,
  };
}

function positive(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new ValidationError(
      field,
      `expected a number > 0 and ≤ ${MAX_TIMER_MS}, got ${describeValue(value)}`,
    );
  }
  return value;
}
