import { type ServiceInstance, validateInstance } from '@switchyard/core';
import type { Endpoint, EndpointPort, EndpointSlice } from './endpoint-slice.ts';

/** Metadata keys an instance from Kubernetes carries (besides the first-class `zone`). */
export const METADATA = {
  pod: 'k8s.pod',
  node: 'k8s.node',
  hostname: 'k8s.hostname',
  slice: 'k8s.slice',
  portName: 'k8s.portName',
  forZones: 'k8s.forZones',
  terminating: 'k8s.terminating',
} as const;

/** An endpoint left out of the list, and why. */
export interface RejectedEndpoint {
  readonly slice: string;
  readonly reason: string;
  readonly entry: unknown;
}

export interface SliceSelection {
  /** Port name (`http`) or number; undefined takes a slice's only port, or its first. */
  readonly port: string | number | undefined;
  /** Endpoints at most; the rest are reported and left out. */
  readonly maxEndpoints: number;
}

interface Candidate {
  readonly instance: ServiceInstance;
  readonly ready: boolean;
}

/**
 * Turns every slice of one Service into instances. Slices are merged and endpoints
 * de-duplicated (the same pod can sit in two slices while the controller moves it, and a
 * dual-stack pod sits in one slice per address family): the first one seen wins, in slice-name
 * order with IPv4 before IPv6, so the answer does not depend on event order.
 *
 * Conditions: ready → routable; serving but terminating → draining, served only while no
 * endpoint is ready (Kubernetes' own rule for terminating endpoints), listed `out_of_service`
 * otherwise; not serving → left out.
 */
export function instancesFromSlices(
  service: string,
  slices: Iterable<EndpointSlice>,
  selection: SliceSelection,
): { instances: ServiceInstance[]; rejected: RejectedEndpoint[] } {
  const ordered = [...slices].sort(bySliceOrder);
  const seen = new Set<string>();
  const ready: ServiceInstance[] = [];
  const draining: ServiceInstance[] = [];
  const rejected: RejectedEndpoint[] = [];
  let count = 0;
  for (const slice of ordered) {
    const sliceName = slice.metadata?.name ?? '(unnamed)';
    if (slice.addressType !== undefined && !['IPv4', 'IPv6', 'FQDN'].includes(slice.addressType)) {
      rejected.push({ slice: sliceName, reason: `unknown addressType ${slice.addressType}`, entry: slice });
      continue;
    }
    const port = selectPort(slice.ports ?? [], selection.port);
    if (!port) {
      if ((slice.endpoints ?? []).length > 0) {
        rejected.push({
          slice: sliceName,
          reason: `no port ${selection.port === undefined ? '' : `named ${JSON.stringify(selection.port)} `}in the slice`,
          entry: slice.ports,
        });
      }
      continue;
    }
    for (const endpoint of slice.endpoints ?? []) {
      const candidate = toCandidate(service, sliceName, endpoint, port, rejected);
      if (!candidate) continue;
      const key = identity(endpoint, candidate.instance);
      if (seen.has(key)) continue;
      if (++count > selection.maxEndpoints) {
        rejected.push({
          slice: sliceName,
          reason: `more than maxEndpoints (${selection.maxEndpoints}) endpoints; the rest are left out`,
          entry: undefined,
        });
        return { instances: servable(ready, draining), rejected };
      }
      seen.add(key);
      (candidate.ready ? ready : draining).push(candidate.instance);
    }
  }
  return { instances: servable(ready, draining), rejected };
}

/**
 * Ready endpoints are served; draining ones only while none is ready. Otherwise they are still
 * listed, as `out_of_service`, so that a client drops them at once instead of treating them as
 * departed (and kept while their health checks pass).
 */
function servable(ready: ServiceInstance[], draining: ServiceInstance[]): ServiceInstance[] {
  if (ready.length === 0) return draining;
  for (const instance of draining)
    ready.push(Object.freeze({ ...instance, status: 'out_of_service' as const }));
  return ready;
}

function bySliceOrder(a: EndpointSlice, b: EndpointSlice): number {
  const family = familyRank(a.addressType) - familyRank(b.addressType);
  if (family !== 0) return family;
  const an = a.metadata?.name ?? '';
  const bn = b.metadata?.name ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

function familyRank(type: string | undefined): number {
  return type === 'IPv4' ? 0 : type === 'IPv6' ? 1 : 2;
}

/** A pod is one endpoint whatever its address family; without a pod, the address is. */
function identity(endpoint: Endpoint, instance: ServiceInstance): string {
  const ref = endpoint.targetRef;
  if (ref?.uid) return `uid:${ref.uid}`;
  if (ref?.name) return `pod:${ref.name}`;
  return `addr:${instance.host}:${instance.port}`;
}

function selectPort(
  ports: readonly EndpointPort[],
  wanted: string | number | undefined,
): EndpointPort | undefined {
  const usable = ports.filter((p) => typeof p.port === 'number' && (p.protocol ?? 'TCP') === 'TCP');
  if (wanted === undefined) return usable[0];
  return usable.find((p) => (typeof wanted === 'number' ? p.port === wanted : p.name === wanted));
}

function toCandidate(
  service: string,
  slice: string,
  endpoint: Endpoint,
  port: EndpointPort,
  rejected: RejectedEndpoint[],
): Candidate | undefined {
  const conditions = endpoint.conditions ?? {};
  // The API documents nil `ready` and `serving` as "ready" and nil `terminating` as false.
  const readyFlag = conditions.ready ?? true;
  const serving = conditions.serving ?? readyFlag;
  const terminating = conditions.terminating ?? false;
  if (!readyFlag && !(serving && terminating)) return undefined; // not serving: out
  const address = endpoint.addresses?.[0];
  const ref = endpoint.targetRef;
  const metadata: Record<string, string> = { [METADATA.slice]: slice };
  if (ref?.name) metadata[METADATA.pod] = ref.name;
  if (endpoint.nodeName) metadata[METADATA.node] = endpoint.nodeName;
  if (endpoint.hostname) metadata[METADATA.hostname] = endpoint.hostname;
  if (port.name) metadata[METADATA.portName] = port.name;
  const forZones = (endpoint.hints?.forZones ?? []).flatMap((z) => (z?.name ? [z.name] : []));
  if (forZones.length > 0) metadata[METADATA.forZones] = forZones.join(',');
  if (!readyFlag) metadata[METADATA.terminating] = 'true';
  const secure = port.appProtocol === 'https' || port.name === 'https';
  const raw = {
    // The pod name is stable across an IP change and readable in events; the address otherwise.
    id: ref?.name ?? (address === undefined ? undefined : `${address}:${port.port}`),
    service,
    host: address,
    port: port.port,
    ...(secure ? { secure } : {}),
    ...(endpoint.zone ? { zone: endpoint.zone } : {}),
    metadata,
  };
  try {
    return { instance: validateInstance(raw), ready: readyFlag };
  } catch (error) {
    rejected.push({ slice, reason: (error as Error).message, entry: endpoint });
    return undefined;
  }
}
