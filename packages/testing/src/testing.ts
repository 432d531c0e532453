export { Backend } from './lib/backend.ts';
export type { BackendHandler, BackendOptions, LoggedRequest } from './lib/backend-handler.ts';
export type { ConsulHealthStatus, ConsulInstanceInput } from './lib/consul-records.ts';
export type { ConsulHealthEntry } from './lib/consul-render.ts';
export { createTestClient, type TestClient, type TestClientOptions } from './lib/create-test-client.ts';
export { type MockConsul, type MockConsulOptions, mockConsul } from './lib/mock-consul.ts';
export {
  endpointSlice,
  type MockEndpointSlice,
  type MockKubernetes,
  mockKubernetes,
  readyEndpoint,
} from './lib/mock-kubernetes.ts';
export { type MockRegistry, type MockRegistryOptions, mockRegistry } from './lib/mock-registry.ts';
export type { MockFault, MockRequest } from './lib/mock-transport.ts';
export { RetryingRegistry, type RetryingRegistryOptions } from './lib/retrying-registry.ts';
export {
  type Backends,
  type InstanceExtras,
  type StartBackendsOptions,
  startBackends,
} from './lib/start-backends.ts';
