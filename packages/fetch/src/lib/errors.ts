import { SwitchyardError } from '@switchyard/core';
import type { IncomingHttpHeaders } from 'undici/types/header.js';

/**
 * The handler the interceptor was given is not undici 7's or 8's shape (it has no
 * `onRequestStart`): the interceptor was composed onto an undici 6 dispatcher, or an older
 * undici's fetch (Node's global fetch bundles its own) called an undici 8 dispatcher. Delivered as
 * the request's error; `fetch` rejects with it as `cause`.
 */
export class UnsupportedDispatcherError extends SwitchyardError {
  constructor(detail: string) {
    super(
      `@switchyard/fetch needs an undici 7 or 8 dispatcher (new Agent().compose(switchyard(client)) with the ` +
        `undici package) and, with undici 8, the undici package's own fetch: ${detail}`,
    );
  }
}

/**
 * An instance answered 429, 502, 503 or 504: the attempt failed and another instance may be
 * tried. Holds the answer (body up to 64 KiB) so that, when no attempt is left, the caller
 * receives this last answer as the response rather than an error.
 */
export class UpstreamStatusError extends SwitchyardError {
  readonly statusCode: number;
  readonly statusMessage: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Bytes the instance sent beyond `body`, discarded. */
  readonly discardedBytes: number;

  constructor(
    service: string,
    instanceId: string,
    answer: {
      statusCode: number;
      statusMessage: string | undefined;
      headers: IncomingHttpHeaders;
      body: Buffer;
      discardedBytes: number;
    },
  ) {
    super(`${service}: instance ${instanceId} answered ${answer.statusCode}`, { service, instanceId });
    this.statusCode = answer.statusCode;
    this.statusMessage = answer.statusMessage;
    this.headers = answer.headers;
    this.body = answer.body;
    this.discardedBytes = answer.discardedBytes;
  }
}
