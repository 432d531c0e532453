import { RegistryProtocolError } from '@switchyard/core';
import type { EndpointSlice, EndpointSliceList } from './endpoint-slice.ts';
import { type KubernetesHttp, readCapped } from './kubernetes-http.ts';
import type { ResolvedKubernetesOptions } from './kubernetes-options.ts';

const PAGE_SIZE = 500;

/** The collection path of a Service's slices, with its label selector. */
export function slicesPath(options: ResolvedKubernetesOptions, service: string): string {
  const selector = encodeURIComponent(`kubernetes.io/service-name=${service}`);
  return `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/endpointslices?labelSelector=${selector}`;
}

/** Every slice of a Service by name, and the resourceVersion to watch from. */
export interface SliceState {
  readonly slices: Map<string, EndpointSlice>;
  readonly resourceVersion: string;
}

/**
 * Lists a Service's slices, page by page (`limit` + `continue`), each page capped in bytes and
 * the whole in slices. A `continue` token that expired answers 410, which the caller handles
 * by listing again.
 */
export async function listSlices(
  http: KubernetesHttp,
  options: ResolvedKubernetesOptions,
  service: string,
  signal: AbortSignal,
): Promise<SliceState> {
  const slices = new Map<string, EndpointSlice>();
  let resourceVersion = '';
  let next: string | undefined;
  do {
    const path = `${slicesPath(options, service)}&limit=${PAGE_SIZE}${next ? `&continue=${encodeURIComponent(next)}` : ''}`;
    const response = await http.get(path, service, signal, options.requestTimeoutMs);
    const text = await readCapped(response, options.maxResponseBytes, signal);
    const page = parseList(text, service);
    for (const slice of page.items ?? []) {
      const name = slice?.metadata?.name;
      if (typeof name !== 'string') continue;
      if (slices.size >= options.maxSlices && !slices.has(name)) {
        throw new RegistryProtocolError(`more than maxSlices (${options.maxSlices}) EndpointSlices`, {
          service,
        });
      }
      slices.set(name, slice);
    }
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    next = page.metadata?.continue || undefined;
  } while (next);
  return { slices, resourceVersion };
}

function parseList(text: string, service: string): EndpointSliceList {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RegistryProtocolError('EndpointSlice list is not JSON', { service });
  }
  const list = parsed as EndpointSliceList;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    (list.items !== undefined && !Array.isArray(list.items))
  ) {
    throw new RegistryProtocolError('EndpointSlice list has no items array', { service });
  }
  return list;
}
