import { type ServiceInstance, ValidationError, validateInstance } from '@switchyard/core';

/** An entry of a health answer that could not become an instance, and why. */
export interface RejectedConsulEntry {
  readonly index: number;
  /** `Service.ID` when the entry has one. */
  readonly id: string | undefined;
  readonly reason: string;
  /** The entry as Consul sent it. */
  readonly entry: unknown;
}

/**
 * Turns the JSON array of `GET /v1/health/service/<name>` into instances, entry by entry:
 * id = `Service.ID`, host = `Service.Address` or else `Node.Address`, port = `Service.Port`,
 * weight = `Service.Weights.Passing`, metadata = `Service.Meta` (whose `zone` also sets `zone`,
 * and `secure: "true"` sets `secure`). Entries with missing or bad fields are rejected one by
 * one; a body that is not an array throws.
 *
 * @example
 * const { instances, rejected } = decodeHealthEntries('users', JSON.parse(body));
 */
export function decodeHealthEntries(
  service: string,
  body: unknown,
): { instances: ServiceInstance[]; rejected: RejectedConsulEntry[] } {
  if (!Array.isArray(body)) {
    throw new ValidationError('body', `expected a JSON array of health entries, got ${typeof body}`, {
      service,
    });
  }
  const instances: ServiceInstance[] = [];
  const rejected: RejectedConsulEntry[] = [];
  body.forEach((entry: unknown, index) => {
    const svc = field(entry, 'Service');
    const id = typeof field(svc, 'ID') === 'string' ? (field(svc, 'ID') as string) : undefined;
    try {
      instances.push(toInstance(service, entry));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      rejected.push({ index, id, reason: error.message, entry });
    }
  });
  return { instances, rejected };
}

function toInstance(service: string, entry: unknown): ServiceInstance {
  const svc = field(entry, 'Service');
  if (!isObject(svc)) throw new ValidationError('Service', 'entry has no Service object');
  const node = field(entry, 'Node');
  if (svc.Service !== undefined && svc.Service !== service) {
    throw new ValidationError(
      'Service.Service',
      `entry is for ${JSON.stringify(svc.Service)}, not ${service}`,
    );
  }
  if (svc.ID === undefined) throw new ValidationError('Service.ID', 'missing');
  if (svc.Port === undefined) throw new ValidationError('Service.Port', 'missing');
  const address =
    typeof svc.Address === 'string' && svc.Address !== '' ? svc.Address : field(node, 'Address');
  if (address === undefined)
    throw new ValidationError('Service.Address', 'missing, and no Node.Address either');
  const meta = svc.Meta === null || svc.Meta === undefined ? undefined : svc.Meta;
  const weights = field(svc, 'Weights');
  const raw: Record<string, unknown> = {
    id: svc.ID,
    service,
    host: address,
    port: svc.Port,
    weight: weights === undefined || weights === null ? undefined : field(weights, 'Passing'),
    metadata: meta,
  };
  if (isObject(meta) && typeof meta.zone === 'string' && meta.zone !== '') raw.zone = meta.zone;
  if (isObject(meta) && meta.secure === 'true') raw.secure = true;
  return validateInstance(raw);
}

function field(value: unknown, name: string): unknown {
  return isObject(value) ? value[name] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
