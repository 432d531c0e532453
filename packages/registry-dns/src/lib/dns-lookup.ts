import { Resolver } from 'node:dns/promises';
import {
  abortReason,
  partitionInstances,
  RegistryProtocolError,
  type ServiceInstance,
  SwitchyardError,
  ValidationError,
} from '@switchyard/core';
import { dnsCode, toDnsError } from './dns-error.ts';
import type { ResolvedDnsOptions } from './dns-options.ts';
import { srvTtlMs } from './srv-ttl.ts';

/**
 * SRV weight 0 means "pick only when nothing else is there" (RFC 2782); an instance weight must
 * be > 0, so a zero becomes this tiny weight: such targets get about 1 % of a weight-1 peer's share.
 */
export const ZERO_SRV_WEIGHT = 0.01;

/** A record that could not become an instance, and why. */
export interface RejectedRecord {
  readonly record: string;
  readonly reason: string;
}

/** What makes two dropped records the same one across answers. */
export function recordKey(entry: RejectedRecord): string {
  return entry.record;
}

/** One resolution of a service: its instances, what was dropped, and the lowest TTL seen. */
export interface DnsAnswer {
  readonly instances: readonly ServiceInstance[];
  readonly rejected: readonly RejectedRecord[];
  /** Lowest TTL in ms of the records used (SRV and addresses); undefined when none was learnt. */
  readonly ttlMs: number | undefined;
}

interface Address {
  readonly address: string;
  readonly ttl: number;
}

/**
 * Resolves `service` once with a resolver of its own (so that an abort cancels only this
 * lookup). SRV mode keeps the lowest-priority group that yields at least one usable instance;
 * targets are resolved to addresses with the same resolver, because `dns.lookup` would ignore
 * the configured servers. More than `maxRecords` SRV records, addresses for one name, or
 * instances in all is refused with RegistryProtocolError.
 *
 * @example
 * const { instances } = await lookupService('users', resolveDnsOptions({ mode: 'srv' }));
 */
export async function lookupService(
  service: string,
  options: ResolvedDnsOptions,
  signal?: AbortSignal,
): Promise<DnsAnswer> {
  if (signal?.aborted) throw abortReason(signal);
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: options.tries });
  if (options.servers) resolver.setServers(options.servers);
  const onAbort = () => resolver.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  const name = options.nameFor(service);
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(
      'nameFor',
      `returned ${JSON.stringify(name)} for ${service}; expected a record name`,
      {
        service,
      },
    );
  }
  try {
    if (options.mode === 'srv') {
      try {
        return await lookupSrv(resolver, service, name, options);
      } catch (error) {
        // No SRV records but a port to use: fall back to the name's A/AAAA records.
        if (options.port === undefined || !isNotFound(error)) throw error;
      }
    }
    const addresses = bounded(
      await resolveAddresses(resolver, name),
      options.maxRecords,
      `addresses of ${name}`,
      service,
    );
    const rejected: RejectedRecord[] = [];
    const instances = build(service, rejected, options, addresses, options.port as number, {});
    return { instances, rejected, ttlMs: lowestTtl(addresses) };
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    if (error instanceof SwitchyardError) throw error;
    throw toDnsError(service, name, error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function lookupSrv(
  resolver: Resolver,
  service: string,
  name: string,
  options: ResolvedDnsOptions,
): Promise<DnsAnswer> {
  const server = resolver.getServers()[0];
  // node:dns hides SRV TTLs: ask for them alongside (best effort, undefined on any failure).
  const [records, srvTtl] = await Promise.all([
    resolver.resolveSrv(name),
    server === undefined ? undefined : srvTtlMs(server, name, options.timeoutMs),
  ]);
  bounded(records, options.maxRecords, `SRV records of ${name}`, service);
  const priorities = [...new Set(records.map((record) => record.priority))].sort((a, b) => a - b);
  const rejected: RejectedRecord[] = [];
  let ttlMs = srvTtl;
  for (const priority of priorities) {
    const group = records.filter((record) => record.priority === priority);
    const resolved = await Promise.all(
      group.map(async (record) => {
        const label = `${record.name}:${record.port} (priority ${record.priority})`;
        if (record.port === 0) {
          rejected.push({ record: label, reason: 'SRV port 0 (service not offered here)' });
          return [];
        }
        try {
          const addresses = bounded(
            await resolveAddresses(resolver, record.name),
            options.maxRecords,
            `addresses of ${record.name}`,
            service,
          );
          ttlMs = Math.min(
            ttlMs ?? Number.POSITIVE_INFINITY,
            lowestTtl(addresses) ?? Number.POSITIVE_INFINITY,
          );
          return build(service, rejected, options, addresses, record.port, {
            weight: record.weight > 0 ? record.weight : ZERO_SRV_WEIGHT,
            metadata: { target: record.name, priority: String(record.priority) },
          });
        } catch (error) {
          if (error instanceof SwitchyardError || isUnavailable(error)) throw error;
          rejected.push({
            record: label,
            reason: `target ${record.name} has no address (${dnsCode(error)})`,
          });
          return [];
        }
      }),
    );
    const instances = bounded(dedupe(resolved.flat()), options.maxRecords, `instances from ${name}`, service);
    if (instances.length > 0) {
      return { instances, rejected, ttlMs: ttlMs === Number.POSITIVE_INFINITY ? undefined : ttlMs };
    }
  }
  return { instances: [], rejected, ttlMs: srvTtl };
}

/** A and AAAA records of `name`, with TTLs. Fails only when neither family answers. */
async function resolveAddresses(resolver: Resolver, name: string): Promise<Address[]> {
  const [v4, v6] = await Promise.allSettled([
    resolver.resolve4(name, { ttl: true }),
    resolver.resolve6(name, { ttl: true }),
  ]);
  const addresses = [
    ...(v4.status === 'fulfilled' ? v4.value : []),
    ...(v6.status === 'fulfilled' ? v6.value : []),
  ];
  if (addresses.length > 0) return addresses;
  const errors = [v4, v6].flatMap((result) =>
    result.status === 'rejected' ? [result.reason as unknown] : [],
  );
  throw (
    errors.find((error) => !isNotFound(error)) ??
    errors[0] ??
    Object.assign(new Error(name), { code: 'ENODATA' })
  );
}

/** `list` itself, unless it holds more than `max` entries: a poisoned or runaway answer. */
function bounded<T>(list: T[], max: number, what: string, service: string): T[] {
  if (list.length > max) {
    throw new RegistryProtocolError(`${list.length} ${what}, more than maxRecords (${max})`, { service });
  }
  return list;
}

function build(
  service: string,
  rejected: RejectedRecord[],
  options: ResolvedDnsOptions,
  addresses: readonly Address[],
  port: number,
  extra: { weight?: number; metadata?: Record<string, string> },
): ServiceInstance[] {
  const candidates = addresses.map((entry) => ({
    id: `${entry.address}:${port}`,
    service,
    host: entry.address,
    port,
    ...(options.secure ? { secure: true } : {}),
    ...extra,
  }));
  const { instances, rejected: invalid } = partitionInstances(candidates);
  for (const entry of invalid) {
    rejected.push({ record: candidates[entry.index]?.id ?? '?', reason: entry.error.message });
  }
  return instances;
}

/** Two SRV targets on one address and port are one instance; the first record seen wins. */
function dedupe(instances: ServiceInstance[]): ServiceInstance[] {
  const byId = new Map<string, ServiceInstance>();
  for (const instance of instances) if (!byId.has(instance.id)) byId.set(instance.id, instance);
  return [...byId.values()];
}

function lowestTtl(addresses: readonly Address[]): number | undefined {
  return addresses.length === 0 ? undefined : Math.min(...addresses.map((entry) => entry.ttl)) * 1000;
}

function isNotFound(error: unknown): boolean {
  const code = dnsCode(error);
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

function isUnavailable(error: unknown): boolean {
  const code = dnsCode(error);
  return code !== undefined && !isNotFound(error) && code !== 'EBADRESP' && code !== 'EFORMERR';
}
