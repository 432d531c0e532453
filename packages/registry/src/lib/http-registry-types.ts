import type { Clock, SwitchyardError, ValidationError } from '@switchyard/core';
import type { BackoffOptions } from './backoff.ts';
import type { FetchLike } from './registry-transport.ts';

/** TLS towards the registry server (https URLs): whom to trust, and a client certificate for mTLS. */
export interface HttpRegistryTlsOptions {
  /** CA certificate(s) (PEM) trusted for the server's certificate; default Node's root store. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Client certificate (PEM), for a server that requires one. */
  readonly cert?: string | Buffer;
  /** The client certificate's private key (PEM). */
  readonly key?: string | Buffer;
  /** Name to verify the server certificate against (SNI); default the URL's host. */
  readonly servername?: string;
  /** Default true. false accepts any certificate: for tests only. */
  readonly rejectUnauthorized?: boolean;
}

export interface HttpRegistryOptions {
  /** Base URL of the registry server, e.g. `http://127.0.0.1:4000` (`https:` with `tls`). */
  readonly url: string;
  /** Bearer token the server requires (`Authorization: Bearer …`). Never logged nor put in errors or events. */
  readonly token?: string;
  /**
   * The owner key of the instances this client registers: while an instance lives, only the
   * same key may replace, renew or remove it (409 otherwise). Default a random key per
   * HttpRegistry; give a stable one to take back an instance after a restart without waiting
   * for its TTL. A secret: never logged nor put in errors or events.
   */
  readonly ownerKey?: string;
  /** TLS (CA, client certificate for mTLS); needs the built-in fetch (not with `fetch`). */
  readonly tls?: HttpRegistryTlsOptions;
  /** Larger answers are refused (RegistryProtocolError) without being read in full. Default 16 MiB. */
  readonly maxResponseBytes?: number;
  /** A list with more entries is refused (RegistryProtocolError) before any is validated. Default 10,000. */
  readonly maxInstances?: number;
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
  /** An entry of an answer failed validation and was dropped; the rest were used. Once per distinct entry. */
  invalidInstance: {
    readonly service: string;
    readonly index: number;
    readonly entry: unknown;
    readonly reason: string;
    readonly error: ValidationError;
  };
}
