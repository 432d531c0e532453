import { ValidationError } from './errors.ts';
import { describeValue as describe } from './option-keys.ts';
import { INSTANCE_STATUSES, type InstanceStatus, type ServiceInstance } from './service-instance.ts';

// Service names and ids travel in URL paths and registry keys, so they stay within a safe alphabet.
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
// No whitespace, '/', control (Cc), format (Cf: bidi overrides, zero-width marks) or lone
// surrogate (Cs) characters: an id must print as what it is in logs and dashboards.
const INSTANCE_ID = /^[^\s/\p{Cc}\p{Cf}\p{Cs}]{1,256}$/u;
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}]/u;

/**
 * Bounds on what one instance may carry, so that a registry answer cannot grow the client
 * without limit through a single entry. Consul's own limits (64 keys, key ≤ 128, value ≤ 512)
 * fit inside, with room for the keys adapters add.
 */
export const INSTANCE_LIMITS = Object.freeze({
  /** Longest host name (DNS's limit). */
  hostLength: 253,
  /** Most metadata keys. */
  metadataKeys: 128,
  /** Longest metadata key, in characters. */
  metadataKeyLength: 128,
  /** Longest metadata value, in characters (1 KiB). */
  metadataValueLength: 1024,
  /** All metadata keys and values together, in characters (64 KiB). */
  metadataTotalLength: 65_536,
  /** Longest zone name. */
  zoneLength: 256,
});

/** Node's timers overflow above this (and then fire after 1 ms): the longest TTL or wait we accept. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws a ValidationError unless `name` is a usable service name. */
export function validateServiceName(name: unknown, field = 'service'): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(field, `expected a non-empty string, got ${describe(name)}`);
  }
  if (!SERVICE_NAME.test(name)) {
    throw new ValidationError(
      field,
      `"${name}" must be letters, digits, '.', '_' or '-', at most 253 characters`,
    );
  }
  return name;
}

/**
 * Throws a ValidationError unless `id` is a usable instance id: 1–256 characters, no
 * whitespace, no '/' (ids end up in registry keys and URL paths), and no control, format
 * (bidi overrides, zero-width) or lone surrogate characters (ids are printed in logs).
 *
 * @example
 * await registry.deregister('users', validateInstanceId(id));
 */
export function validateInstanceId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) {
    throw new ValidationError(
      field,
      `expected 1-256 characters without spaces, '/', control or bidi/format characters, got ${describe(id)}`,
    );
  }
  return id;
}

/** Throws a ValidationError unless `port` is an integer in 1..65535. */
export function validatePort(port: unknown, field = 'port'): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(field, `expected an integer in 1..65535, got ${describe(port)}`);
  }
  return port;
}

/** Throws a ValidationError unless `weight` is finite and > 0. */
export function validateWeight(weight: unknown, field = 'weight'): number {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    throw new ValidationError(field, `expected a finite number > 0, got ${describe(weight)}`);
  }
  return weight;
}

/**
 * Checks an optional duration in ms (a registration TTL, a wait): absent, or finite, > 0 and
 * at most 2³¹−1 (about 24.8 days; Node's timers fire after 1 ms past that).
 * `context` names the service and instance on the error.
 */
export function validateTtl(
  ttlMs: unknown,
  field = 'ttlMs',
  context: { service?: string; instanceId?: string } = {},
): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TIMER_MS) {
    throw new ValidationError(
      field,
      `expected a number of milliseconds > 0 and ≤ ${MAX_TIMER_MS} (2^31-1), got ${describe(ttlMs)}`,
      context,
    );
  }
  return ttlMs;
}

/**
 * Checks an untrusted value against the ServiceInstance contract and returns a frozen, clean
 * copy (unknown keys dropped). Throws a ValidationError naming the first bad field.
 *
 * - `host` must survive a URL round trip: `http://<host>:<port>` parses back to the same host
 *   (case aside), so `127.0.0.1:22`, `[::1`, `127.0.0.1\`, `a b`, `user@host` are refused.
 *   IPv6 literals are accepted bare (`::1`) or bracketed (`[::1]`) and stored bare, the form
 *   `originOf` brackets in URLs; zone ids (`fe80::1%eth0`) are not URL-safe and are refused.
 * - `metadata` is bounded by {@link INSTANCE_LIMITS}: at most 128 keys, keys ≤ 128 and values
 *   ≤ 1,024 characters, 65,536 characters in all.
 */
export function validateInstance(input: unknown): ServiceInstance {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError('instance', `expected an object, got ${describe(input)}`);
  }
  const raw = input as Record<string, unknown>;
  const id = validateInstanceId(raw.id);
  const context = { instanceId: id, service: typeof raw.service === 'string' ? raw.service : undefined };
  const fail = (field: string, detail: string): never => {
    throw new ValidationError(field, detail, context);
  };
  const service = validateWithContext(() => validateServiceName(raw.service), context);
  const port = validateWithContext(() => validatePort(raw.port), context);
  const host = urlSafeHost(raw.host, port);
  if (host === undefined) {
    fail(
      'host',
      `expected a host name or IP address that http://host:port parses back to, got ${describe(raw.host)}`,
    );
  }
  const instance: {
    -readonly [K in keyof ServiceInstance]: ServiceInstance[K];
  } = { id, service, host: host as string, port };
  if (raw.secure !== undefined) {
    if (typeof raw.secure !== 'boolean') fail('secure', `expected a boolean, got ${describe(raw.secure)}`);
    instance.secure = raw.secure as boolean;
  }
  if (raw.weight !== undefined) {
    instance.weight = validateWithContext(() => validateWeight(raw.weight), context);
  }
  if (raw.zone !== undefined) {
    if (
      typeof raw.zone !== 'string' ||
      raw.zone.length === 0 ||
      raw.zone.length > INSTANCE_LIMITS.zoneLength ||
      INVISIBLE.test(raw.zone)
    ) {
      fail(
        'zone',
        `expected 1-${INSTANCE_LIMITS.zoneLength} printable characters, got ${describe(raw.zone)}`,
      );
    }
    instance.zone = raw.zone as string;
  }
  if (raw.status !== undefined) {
    if (!INSTANCE_STATUSES.includes(raw.status as InstanceStatus)) {
      fail('status', `expected one of ${INSTANCE_STATUSES.join(', ')}, got ${describe(raw.status)}`);
    }
    instance.status = raw.status as InstanceStatus;
  }
  if (raw.metadata !== undefined) {
    const metadata = raw.metadata;
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      fail('metadata', `expected an object of strings, got ${describe(metadata)}`);
    }
    instance.metadata = validateMetadata(metadata as object, fail);
  }
  return Object.freeze(instance);
}

/** What `partitionInstances` could not use, and why. */
export interface RejectedEntry {
  readonly index: number;
  readonly entry: unknown;
  readonly error: ValidationError;
}

/**
 * Validates a list entry by entry: good entries are kept, bad ones are reported one by one.
 * Registry adapters use this so that one broken record never hides the healthy rest.
 */
export function partitionInstances(entries: readonly unknown[]): {
  instances: ServiceInstance[];
  rejected: RejectedEntry[];
} {
  const instances: ServiceInstance[] = [];
  const rejected: RejectedEntry[] = [];
  entries.forEach((entry, index) => {
    try {
      instances.push(validateInstance(entry));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      rejected.push({ index, entry, error });
    }
  });
  return { instances, rejected };
}

function validateMetadata(
  metadata: object,
  fail: (field: string, detail: string) => never,
): Readonly<Record<string, string>> {
  const limits = INSTANCE_LIMITS;
  const entries = Object.entries(metadata);
  if (entries.length > limits.metadataKeys) {
    fail('metadata', `expected at most ${limits.metadataKeys} keys, got ${entries.length}`);
  }
  const copy: Record<string, string> = {};
  let total = 0;
  for (const [key, value] of entries) {
    const shown = key.length > 60 ? `${key.slice(0, 60)}…` : key;
    if (key.length === 0 || key.length > limits.metadataKeyLength) {
      fail(`metadata.${shown}`, `keys must have 1-${limits.metadataKeyLength} characters, got ${key.length}`);
    }
    if (typeof value !== 'string') fail(`metadata.${shown}`, `expected a string, got ${describe(value)}`);
    if ((value as string).length > limits.metadataValueLength) {
      fail(
        `metadata.${shown}`,
        `values must have at most ${limits.metadataValueLength} characters, got ${(value as string).length}`,
      );
    }
    total += key.length + (value as string).length;
    copy[key] = value as string;
  }
  if (total > limits.metadataTotalLength) {
    fail('metadata', `expected at most ${limits.metadataTotalLength} characters in all, got ${total}`);
  }
  return Object.freeze(copy);
}

/**
 * The host as stored (IPv6 unbracketed), or undefined when `http://host:port` does not parse
 * back to it: such a host would make every call to the instance fail with "Invalid URL".
 */
function urlSafeHost(host: unknown, port: number): string | undefined {
  if (typeof host !== 'string' || host.length === 0 || host.length > INSTANCE_LIMITS.hostLength + 2) {
    return undefined;
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.length === 0 || bare.length > INSTANCE_LIMITS.hostLength) return undefined;
  const ipv6 = bare.includes(':');
  if (!ipv6 && bare !== host) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(`http://${ipv6 ? `[${bare}]` : bare}:${port}`);
  } catch {
    return undefined;
  }
  if (parsed.port !== String(port) && !(port === 80 && parsed.port === '')) return undefined;
  if (parsed.pathname !== '/' || parsed.username !== '' || parsed.search !== '' || parsed.hash !== '') {
    return undefined;
  }
  // Inside brackets the URL parser accepts only IPv6 (and rewrites it canonically); outside,
  // the name must come back unchanged but for case.
  if (ipv6) return parsed.hostname.startsWith('[') ? bare : undefined;
  return parsed.hostname === bare.toLowerCase() ? bare : undefined;
}

function validateWithContext<T>(
  check: () => T,
  context: { instanceId?: string; service?: string | undefined },
): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new ValidationError(error.field, error.message.replace(/^invalid [^:]+: /, ''), context);
    }
    throw error;
  }
}
