import { describeValue, type ServiceInstance, ValidationError, validateInstance } from '@switchyard/core';
import { consulInstanceId } from './consul-instance-id.ts';

/** An entry of a health answer that could not become an instance, and why. */
export interface RejectedConsulEntry {
  readonly index: number;
  /** `Service.ID` when the entry has one. */
  readonly id: string | undefined;
  /** `Node.Node` when the entry has one. */
  readonly node: string | undefined;
  readonly reason: string;
  /** The entry as Consul sent it. */
  readonly entry: unknown;
}

/** What makes two rejected entries the same one, across answers: node and ID, else the position. */
export function rejectionKey(entry: RejectedConsulEntry): string {
  return entry.id === undefined ? `#${entry.index}` : `${entry.node ?? ''}\u0000${entry.id}`;
}

/** Metadata keys the adapter adds: Consul refuses `.` in its own Meta keys, so these cannot clash. */
export const CONSUL_META = Object.freeze({
  node: 'consul.node',
  serviceId: 'consul.serviceId',
  namespace: 'consul.namespace',
  partition: 'consul.partition',
});

/**
 * Turns the JSON array of `GET /v1/health/service/<name>` into instances, entry by entry:
 * id = {@link consulInstanceId} (node + namespace + partition + `Service.ID`, as Consul's
 * `UniqueID()`), host = `Service.Address` or else `Node.Address`, port = `Service.Port`,
 * weight = `Service.Weights.Passing`, metadata = `Service.Meta` plus `consul.node`,
 * `consul.serviceId` (and `consul.namespace` / `consul.partition` when set); `zone` =
 * `Service.Meta.zone` or else `Node.Meta.zone`; `secure: "true"` in `Service.Meta` sets `secure`.
 * Service names match case-insensitively (Consul indexes them lowercased). Entries with
 * missing or bad fields, port 0 (Consul's default when a registration gives none) or an id
 * already seen are rejected one by one; a body that is not an array throws.
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
  const seen = new Set<string>();
  body.forEach((entry: unknown, index) => {
    const id = stringField(field(entry, 'Service'), 'ID');
    const node = stringField(field(entry, 'Node'), 'Node');
    try {
      const instance = toInstance(service, entry);
      if (seen.has(instance.id)) {
        throw new ValidationError(
          'id',
          `${JSON.stringify(instance.id)} appears twice in the answer; the first is kept`,
        );
      }
      seen.add(instance.id);
      instances.push(instance);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      rejected.push({ index, id, node, reason: error.message, entry });
    }
  });
  return { instances, rejected };
}

function toInstance(service: string, entry: unknown): ServiceInstance {
  const svc = field(entry, 'Service');
  if (!isObject(svc)) throw new ValidationError('Service', 'entry has no Service object');
  const node = field(entry, 'Node');
  if (
    svc.Service !== undefined &&
    (typeof svc.Service !== 'string' || svc.Service.toLowerCase() !== service.toLowerCase())
  ) {
    throw new ValidationError(
      'Service.Service',
      `entry is for ${describeValue(svc.Service)}, not ${service}`,
    );
  }
  if (svc.ID === undefined) throw new ValidationError('Service.ID', 'missing');
  if (typeof svc.ID !== 'string' || svc.ID === '') {
    throw new ValidationError('Service.ID', `expected a non-empty string, got ${describeValue(svc.ID)}`);
  }
  const nodeName = field(node, 'Node');
  if (typeof nodeName !== 'string' || nodeName === '') {
    throw new ValidationError('Node.Node', `expected the node's name, got ${describeValue(nodeName)}`);
  }
  if (svc.Port === undefined) throw new ValidationError('Service.Port', 'missing');
  if (svc.Port === 0) {
    throw new ValidationError(
      'Service.Port',
      'is 0, what Consul stores when a registration gives no port: there is nothing to call (register the service with its port)',
    );
  }
  const address =
    typeof svc.Address === 'string' && svc.Address !== '' ? svc.Address : field(node, 'Address');
  if (address === undefined || address === '')
    throw new ValidationError('Service.Address', 'missing, and no Node.Address either');
  const namespace = optionalString(svc, 'Namespace');
  const partition = optionalString(svc, 'Partition') ?? optionalString(node, 'Partition');
  const meta = svc.Meta === null || svc.Meta === undefined ? {} : svc.Meta;
  if (!isObject(meta))
    throw new ValidationError('Service.Meta', `expected an object, got ${describeValue(meta)}`);
  const metadata: Record<string, unknown> = {
    ...meta,
    [CONSUL_META.node]: nodeName,
    [CONSUL_META.serviceId]: svc.ID,
  };
  if (namespace !== undefined) metadata[CONSUL_META.namespace] = namespace;
  if (partition !== undefined) metadata[CONSUL_META.partition] = partition;
  const weights = field(svc, 'Weights');
  const raw: Record<string, unknown> = {
    id: consulInstanceId({ node: nodeName, serviceId: svc.ID, namespace, partition }),
    service,
    host: address,
    port: svc.Port,
    weight: weights === undefined || weights === null ? undefined : field(weights, 'Passing'),
    metadata,
  };
  const nodeMeta = field(node, 'Meta');
  const zone = nonEmpty(meta.zone) ?? nonEmpty(field(nodeMeta, 'zone'));
  if (zone !== undefined) raw.zone = zone;
  if (meta.secure === 'true') raw.secure = true;
  return validateInstance(raw);
}

function optionalString(value: unknown, name: string): string | undefined {
  const found = field(value, name);
  return typeof found === 'string' && found !== '' ? found : undefined;
}

function stringField(value: unknown, name: string): string | undefined {
  const found = field(value, name);
  return typeof found === 'string' ? found : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function field(value: unknown, name: string): unknown {
  return isObject(value) ? value[name] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
