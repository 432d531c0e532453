export { CONSUL_META, decodeHealthEntries, type RejectedConsulEntry } from './lib/consul-entry.ts';
export type { ConsulRegistryEvents } from './lib/consul-events.ts';
export { consulInstanceId } from './lib/consul-instance-id.ts';
export type { ConsulRegistryOptions, FetchLike } from './lib/consul-options.ts';
export { ConsulRegistry } from './lib/consul-registry.ts';
