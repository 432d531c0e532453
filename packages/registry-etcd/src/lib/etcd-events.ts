import type { RegistryEvents } from '@switchyard/core';

/**
 * What an EtcdRegistry reports besides instance lists. Listen with `registry.on(name, fn)`.
 * The first three are core's `RegistryEvents`, which `ServiceDiscoveryClient` forwards.
 *
 * - `invalidInstance`: a key under the prefix could not be decoded; that entry is left out and
 *   the rest of the service is served. Each bad key is reported once (resolve and watch share
 *   the record), not on every read.
 * - `registryStale` / `registryRecovered`: a watch lost its stream (its list may lag; `error` is
 *   a RegistryUnavailableError whose `cause` is etcd's) and later caught up; or the service
 *   grew past `maxInstances` (`error` a RegistryProtocolError) and later shrank.
 * - `leaseLost` / `reregistered`: a registration's lease expired or was revoked; the registry
 *   granted a new lease and wrote the instance again.
 * - `error`: a background operation failed and will be retried.
 */
export interface EtcdRegistryEvents extends RegistryEvents {
  invalidInstance: {
    readonly service: string;
    readonly key: string;
    readonly reason: string;
    readonly error: Error;
  };
  registryStale: { readonly service: string; readonly error: Error };
  registryRecovered: { readonly service: string; readonly staleForMs: number };
  leaseLost: { readonly service: string; readonly id: string; readonly error: Error };
  reregistered: { readonly service: string; readonly id: string };
  error: { readonly service?: string; readonly operation: string; readonly error: Error };
}
