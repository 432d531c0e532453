import type { RegistryEvents } from '@switchyard/core';

/**
 * What a KubernetesRegistry reports besides instance lists. Listen with `registry.on(name, fn)`.
 * The first three are core's `RegistryEvents`, which `ServiceDiscoveryClient` forwards.
 *
 * - `invalidInstance`: an endpoint or slice could not be used (no such port, a bad address,
 *   over `maxEndpoints`); it is left out and the rest served. Reported once while it stays bad.
 * - `registryStale`: a list or watch failed, or the watch went silent past `watchIdleMs`; the
 *   last list stays and the watch is restarted with backoff and jitter.
 * - `registryRecovered`: a list or watch worked again after `registryStale`.
 * - `relist`: the watch's resourceVersion expired (410 Gone): the slices are listed afresh.
 */
export interface KubernetesRegistryEvents extends RegistryEvents {
  invalidInstance: {
    readonly service: string;
    readonly slice: string;
    readonly reason: string;
    readonly entry: unknown;
  };
  registryStale: { readonly service: string; readonly error: Error };
  registryRecovered: { readonly service: string; readonly staleForMs: number };
  relist: { readonly service: string; readonly resourceVersion: string };
}
