export type {
  Endpoint,
  EndpointPort,
  EndpointSlice,
  EndpointSliceList,
  WatchEvent,
} from './lib/endpoint-slice.ts';
export { loadKubeconfig } from './lib/kubeconfig.ts';
export type { KubernetesRegistryEvents } from './lib/kubernetes-events.ts';
export type { FetchLike, KubernetesRegistryOptions } from './lib/kubernetes-options.ts';
export { KubernetesPermissionError } from './lib/kubernetes-permission-error.ts';
export { KubernetesRegistry } from './lib/kubernetes-registry.ts';
export {
  instancesFromSlices,
  METADATA as KUBERNETES_METADATA,
  type RejectedEndpoint,
} from './lib/slice-instances.ts';
