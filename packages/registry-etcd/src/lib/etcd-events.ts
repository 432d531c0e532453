/**
 * What an EtcdRegistry reports besides instance lists. Listen with `registry.on(name, fn)`.
 *
 * - `invalidEntry`: a key under the prefix could not be decoded; that entry is left out and the
 *   rest of the service is served.
 * - `stale` / `recovered`: a watch lost its stream (its list may lag) and later caught up.
 * - `leaseLost` / `reregistered`: a registration's lease expired or was revoked; the registry
 *   granted a new lease and wrote the instance again.
 * - `error`: a background operation failed and will be retried.
 */
export type EtcdRegistryEvents = {
  invalidEntry: {
    readonly service: string;
    readonly key: string;
    readonly reason: string;
    readonly error: Error;
  };
  stale: { readonly service: string; readonly reason: string };
  recovered: { readonly service: string };
  leaseLost: { readonly service: string; readonly id: string; readonly error: Error };
  reregistered: { readonly service: string; readonly id: string };
  error: { readonly service?: string; readonly operation: string; readonly error: Error };
};
