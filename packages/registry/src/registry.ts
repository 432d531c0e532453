export { type Backoff, type BackoffOptions, jitteredBackoff } from './lib/backoff.ts';
export {
  CachingRegistry,
  type CachingRegistryEvents,
  type CachingRegistryOptions,
} from './lib/caching-registry.ts';
export { HttpRegistry } from './lib/http-registry.ts';
export type { HttpRegistryEvents, HttpRegistryOptions } from './lib/http-registry-types.ts';
export { InMemoryRegistry, type InMemoryRegistryOptions } from './lib/in-memory-registry.ts';
export {
  type RegisterSelfOptions,
  registerSelf,
  type SelfRegistration,
  type SelfRegistrationEvents,
} from './lib/register-self.ts';
export {
  RegistrationConflictError,
  RegistryAccessDeniedError,
  RegistryBusyError,
} from './lib/registry-errors.ts';
export {
  createRegistryHandler,
  REGISTRY_INDEX_HEADER,
  type RegistryHandler,
  type RegistryHandlerOptions,
  type RegistryRequest,
  type RegistryResponse,
} from './lib/registry-handler.ts';
export {
  createRegistryServer,
  type RegistryServer,
  type RegistryServerOptions,
} from './lib/registry-server.ts';
export type { FetchLike } from './lib/registry-transport.ts';
export { StaticRegistry } from './lib/static-registry.ts';
