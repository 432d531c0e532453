import { ValidationError } from './errors.ts';
import { INSTANCE_STATUSES, type InstanceStatus, type ServiceInstance } from './service-instance.ts';

// Service names and ids travel in URL paths and registry keys, so they stay within a safe alphabet.
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const INSTANCE_ID = /^[^\s/]{1,256}$/;
const HOST = /^[^\s/?#@]{1,253}$/;

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
 * whitespace and no '/' (ids end up in registry keys and URL paths).
 *
 * @example
 * await registry.deregister('users', validateInstanceId(id));
 */
export function validateInstanceId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) {
    throw new ValidationError(
      field,
      `expected a non-empty string without spaces or '/', got ${describe(id)}`,
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
 * Checks an optional duration in ms (a registration TTL, a wait): absent, or finite and > 0.
 * `context` names the service and instance on the error.
 */
export function validateTtl(
  ttlMs: unknown,
  field = 'ttlMs',
  context: { service?: string; instanceId?: string } = {},
): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new ValidationError(
      field,
      `expected a finite number of milliseconds > 0, got ${describe(ttlMs)}`,
      context,
    );
  }
  return ttlMs;
}

/**
 * Checks an untrusted value against the ServiceInstance contract and returns a frozen, clean
 * copy (unknown keys dropped). Throws a ValidationError naming the first bad field.
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
  if (typeof raw.host !== 'string' || !HOST.test(raw.host)) {
    fail('host', `expected a non-empty host name or address, got ${describe(raw.host)}`);
  }
  const port = validateWithContext(() => validatePort(raw.port), context);
  const instance: {
    -readonly [K in keyof ServiceInstance]: ServiceInstance[K];
  } = { id, service, host: raw.host as string, port };
  if (raw.secure !== undefined) {
    if (typeof raw.secure !== 'boolean') fail('secure', `expected a boolean, got ${describe(raw.secure)}`);
    instance.secure = raw.secure as boolean;
  }
  if (raw.weight !== undefined) {
    instance.weight = validateWithContext(() => validateWeight(raw.weight), context);
  }
  if (raw.zone !== undefined) {
    if (typeof raw.zone !== 'string' || raw.zone.length === 0) {
      fail('zone', `expected a non-empty string, got ${describe(raw.zone)}`);
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
    const copy: Record<string, string> = {};
    for (const [key, value] of Object.entries(metadata as object)) {
      if (typeof value !== 'string') fail(`metadata.${key}`, `expected a string, got ${describe(value)}`);
      copy[key] = value as string;
    }
    instance.metadata = Object.freeze(copy);
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

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}
