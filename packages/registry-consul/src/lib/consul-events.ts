/**
 * What a ConsulRegistry reports besides instance lists. Listen with `registry.on(name, fn)`.
 *
 * - `invalidEntry`: a health entry lacked a field or broke the instance contract; it is left
 *   out and the rest is served. A watch reports each bad entry once, not on every answer.
 * - `stale`: a watch request failed; the last list stays and the watch retries with backoff.
 * - `recovered`: a watch request worked again after `stale`.
 * - `indexReset`: `X-Consul-Index` went backwards (a snapshot restore, a new cluster): the
 *   watch starts again from index 0.
 */
export type ConsulRegistryEvents = {
  invalidEntry: {
    readonly service: string;
    readonly index: number;
    readonly id: string | undefined;
    readonly reason: string;
  };
  stale: { readonly service: string; readonly reason: string; readonly error: Error };
  recovered: { readonly service: string };
  indexReset: { readonly service: string; readonly from: number; readonly to: number };
};
