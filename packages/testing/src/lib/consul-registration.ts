import { parseGoDuration } from './consul-duration.ts';
import {
  type CheckDraft,
  CONSUL_STATUSES,
  type ConsulHealthStatus,
  type ServiceDraft,
} from './consul-records.ts';

/** An error answer in Consul's style: a status and a plain-text body. */
export class ConsulHttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'ConsulHttpError';
    this.status = status;
  }
}

const CHECK_TYPES = [
  ['TTL', 'ttl'],
  ['HTTP', 'http'],
  ['TCP', 'tcp'],
  ['GRPC', 'grpc'],
  ['Args', 'script'],
] as const;

/**
 * Reads a `PUT /v1/agent/service/register` body the way the Consul agent does: `Name` is
 * required, `ID` defaults to it, one `Check` gets the ID `service:<ID>` and `Checks[i]` get
 * `service:<ID>:<i+1>`. New checks start `critical` unless they give a `Status`, except checks
 * the mock cannot run (HTTP, TCP…), which start `passing`. Anything malformed is a 400.
 */
export function parseRegistration(
  text: string,
  defaults: { node: string; datacenter: string },
): ServiceDraft {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ConsulHttpError(400, `Request decode failed: ${(error as Error).message}`);
  }
  if (!isObject(body)) throw new ConsulHttpError(400, 'Request decode failed: expected a JSON object');
  const name = body.Name;
  if (typeof name !== 'string' || name.length === 0) throw new ConsulHttpError(400, 'Missing service name');
  const id = optional(body, 'ID', 'string') ?? name;
  const port = optional(body, 'Port', 'number') ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConsulHttpError(400, `Request decode failed: Port ${port} out of range`);
  }
  const tags = body.Tags ?? [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw new ConsulHttpError(400, 'Request decode failed: Tags must be an array of strings');
  }
  const meta = body.Meta ?? {};
  if (!isObject(meta) || !Object.values(meta).every((value) => typeof value === 'string')) {
    throw new ConsulHttpError(400, 'Invalid Service Meta: values must be strings');
  }
  // Consul's validateMetaPair: ASCII letters, digits, '-' and '_' only; at most 64 pairs.
  const keys = Object.keys(meta);
  if (keys.length > 64)
    throw new ConsulHttpError(
      400,
      'Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs',
    );
  const badKey = keys.find((key) => !/^[A-Za-z0-9_-]{1,128}$/.test(key));
  if (badKey !== undefined) {
    throw new ConsulHttpError(
      400,
      `Invalid Service Meta: Key contains invalid characters: ${JSON.stringify(badKey)}`,
    );
  }
  // Consul's own rules: Passing >= 1, Warning >= 0.
  const weights = body.Weights ?? { Passing: 1, Warning: 1 };
  if (!isObject(weights) || !isInteger(weights.Passing, 1)) {
    throw new ConsulHttpError(400, 'Invalid Weights: Passing must be greater than 0');
  }
  if (!isInteger(weights.Warning ?? 1, 0)) {
    throw new ConsulHttpError(400, 'Invalid Weights: Warning must be greater or equal than 0');
  }
  const single = body.Check === undefined || body.Check === null ? [] : [body.Check];
  const many = body.Checks ?? [];
  if (!Array.isArray(many)) throw new ConsulHttpError(400, 'Request decode failed: Checks must be an array');
  const checks = [
    ...single.map((check) => parseCheck(check, `service:${id}`, name)),
    ...many.map((check, i) => parseCheck(check, `service:${id}:${i + 1}`, name)),
  ];
  return {
    ID: id,
    Service: name,
    Tags: Object.freeze([...(tags as string[])]),
    Address: optional(body, 'Address', 'string') ?? '',
    Port: port,
    Meta: Object.freeze({ ...(meta as Record<string, string>) }),
    Weights: Object.freeze({ Passing: weights.Passing as number, Warning: (weights.Warning as number) ?? 1 }),
    EnableTagOverride: optional(body, 'EnableTagOverride', 'boolean') ?? false,
    node: defaults.node,
    datacenter: defaults.datacenter,
    checks,
  };
}

function parseCheck(raw: unknown, defaultId: string, serviceName: string): CheckDraft {
  if (!isObject(raw)) throw new ConsulHttpError(400, 'Request decode failed: a check must be an object');
  const type = CHECK_TYPES.find(([field]) => raw[field] !== undefined)?.[1] ?? '';
  const ttlText = optional(raw, 'TTL', 'string');
  const ttlMs = ttlText === undefined ? undefined : parseGoDuration(ttlText);
  if (ttlText !== undefined && (ttlMs === undefined || ttlMs <= 0)) {
    throw new ConsulHttpError(400, `Request decode failed: invalid TTL "${ttlText}"`);
  }
  const deregisterText = optional(raw, 'DeregisterCriticalServiceAfter', 'string');
  const deregisterAfterMs = deregisterText === undefined ? undefined : parseGoDuration(deregisterText);
  if (deregisterText !== undefined && deregisterAfterMs === undefined) {
    throw new ConsulHttpError(
      400,
      `Request decode failed: invalid DeregisterCriticalServiceAfter "${deregisterText}"`,
    );
  }
  if (type === '')
    throw new ConsulHttpError(400, 'Invalid check: one of Args, HTTP, TCP, GRPC or TTL is required');
  const status = optional(raw, 'Status', 'string') ?? (type === 'ttl' ? 'critical' : 'passing');
  if (!CONSUL_STATUSES.includes(status as ConsulHealthStatus)) {
    throw new ConsulHttpError(400, `Invalid check status: "${status}"`);
  }
  return {
    CheckID: optional(raw, 'CheckID', 'string') ?? optional(raw, 'ID', 'string') ?? defaultId,
    Name: optional(raw, 'Name', 'string') ?? `Service '${serviceName}' check`,
    Status: status as ConsulHealthStatus,
    Notes: optional(raw, 'Notes', 'string') ?? '',
    Output: '',
    Type: type,
    ttlMs,
    deregisterAfterMs,
  };
}

function optional<T extends 'string' | 'number' | 'boolean'>(
  object: Record<string, unknown>,
  field: string,
  type: T,
): (T extends 'string' ? string : T extends 'number' ? number : boolean) | undefined {
  const value = object[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) {
    throw new ConsulHttpError(400, `Request decode failed: ${field} must be a ${type}, got ${typeof value}`);
  }
  return value as T extends 'string' ? string : T extends 'number' ? number : boolean;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isInteger(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min;
}
