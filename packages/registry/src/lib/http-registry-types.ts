import type { Clock, SwitchyardError, ValidationError } from '@switchyard/core';
import type { BackoffOptions } from './backoff.ts';
import type { FetchLike } from './registry-transport.ts';

export interface HttpRegistryOptions {
  /** Base URL of the registry server, e.g. `http://127.0.0.1:8500`. */
  readonly url: string;
  /** Default: the global `fetch`, looked up per request (so msw can intercept it). */
  readonly fetch?: FetchLike;
  /** How long one long-poll may wait on the server. Default 30 s. */
  readonly watchWaitMs?: number;
  /** Per-request timeout for everything but the long-poll. Default 10 s. */
  readonly timeoutMs?: number;
  /** Retry pacing of the watch loop after errors. */
  readonly backoff?: BackoffOptions;
  /** For backoff sleeps and staleness durations. */
  readonly clock?: Clock;
}

/** Events of the HTTP registry: core's `RegistryEvents` (which the client forwards) and `error`. */
export interface HttpRegistryEvents {
  [event: string]: unknown;
  /** A watch request failed; the watch keeps its last list and retries. */
  error: { readonly service: string; readonly error: SwitchyardError };
  /** A watch lost contact: its listener keeps the last list until `registryRecovered`. */
  registryStale: { readonly service: string; readonly error: SwitchyardError };
  registryRecovered: { readonly service: string; readonly staleForMs: number };
  /** An entry of an answer failed validation and was dropped; the rest were used. */
  invalidInstance: {
    readonly service: string;
    readonly index: number;
    readonly entry: unknown;
    readonly reason: string;
    readonly error: ValidationError;
  };
}
