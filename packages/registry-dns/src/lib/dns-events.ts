import type { RegistryEvents } from '@switchyard/core';

/**
 * What a DnsRegistry reports besides instance lists. Listen with `registry.on(name, fn)`.
 * They are core's `RegistryEvents`, which `ServiceDiscoveryClient` forwards.
 *
 * - `invalidInstance`: a record could not become an instance (SRV port 0, a target without
 *   addresses); it is left out and the rest is served. Each record is reported once (resolve
 *   and watch share the record), not on every refresh.
 * - `registryStale`: a watch's refresh failed (timeout, refused, server failure, more than
 *   `maxRecords` records); the last list stays. `error` is the typed error (RegistryUnavailableError, RegistryProtocolError).
 * - `registryRecovered`: a refresh worked again after `registryStale`.
 */
export interface DnsRegistryEvents extends RegistryEvents {
  invalidInstance: { readonly service: string; readonly record: string; readonly reason: string };
  registryStale: { readonly service: string; readonly error: Error };
  registryRecovered: { readonly service: string; readonly staleForMs: number };
}
