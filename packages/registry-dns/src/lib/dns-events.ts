/**
 * What a DnsRegistry reports besides instance lists. Listen with `registry.on(name, fn)`.
 *
 * - `invalidEntry`: a record could not become an instance (SRV port 0, a target without
 *   addresses); it is left out and the rest is served. A watch reports each record once, not
 *   on every refresh.
 * - `stale`: a watch's refresh failed (timeout, refused, server failure); the last list stays.
 * - `recovered`: a refresh worked again after `stale`.
 */
export type DnsRegistryEvents = {
  invalidEntry: { readonly service: string; readonly record: string; readonly reason: string };
  stale: { readonly service: string; readonly reason: string; readonly error: Error };
  recovered: { readonly service: string };
};
