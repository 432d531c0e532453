import type { RegistryEvents } from '@switchyard/core';

/**
 * What a ConsulRegistry reports besides instance lists. Listen with `registry.on(name, fn)`.
 * The first three are core's `RegistryEvents`, which `ServiceDiscoveryClient` forwards.
 *
 * - `invalidInstance`: a health entry lacked a field, broke the instance contract, had port 0 or
 *   repeated an id; it is left out and the rest is served. Each bad entry is reported once
 *   (resolve and watch share the record), not on every answer.
 * - `registryStale` also follows an answer over `maxResponseBytes` or `maxInstances`.
 * - `registryStale`: a watch request failed; the last list stays and the watch retries with
 *   backoff.
 * - `registryRecovered`: a watch request worked again after `registryStale`.
 * - `indexReset`: `X-Consul-Index` went backwards (a snapshot restore, a new cluster): the
 *   watch starts again from index 0.
 */
export interface ConsulRegistryEvents extends RegistryEvents {
  invalidInstance: {
    readonly service: string;
    readonly index: number;
    /** `Service.ID` and `Node.Node` of the entry, when it has them. */
    readonly id: string | undefined;
    readonly node: string | undefined;
    readonly reason: string;
    readonly entry: unknown;
  };
  registryStale: { readonly service: string; readonly error: Error };
  registryRecovered: { readonly service: string; readonly staleForMs: number };
  indexReset: { readonly service: string; readonly from: number; readonly to: number };
}
