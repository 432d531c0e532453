export type { ClientEvents } from './lib/client-events.ts';
export type { ServiceDiscoveryClientOptions, ServiceOptions } from './lib/client-options.ts';
export { DEFAULT_DENIED_HOSTS, HostPolicy, type HostPolicyOptions } from './lib/host-policy.ts';
export { HttpStatusError } from './lib/http-status-error.ts';
export type { HttpRequest, HttpResponse } from './lib/send-request.ts';
export {
  type CallContext,
  type CallOptions,
  ServiceDiscoveryClient,
  type ServiceStats,
} from './lib/service-discovery-client.ts';
