export type { EtcdRegistryEvents } from './lib/etcd-events.ts';
export type { EtcdRegistryOptions } from './lib/etcd-options.ts';
export { EtcdRegistry } from './lib/etcd-registry.ts';
