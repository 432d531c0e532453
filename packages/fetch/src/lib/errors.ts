import { SwitchyardError } from '@switchyard/core';
import type { IncomingHttpHeaders } from 'undici/types/header.js';

/**
 * The interceptor was composed onto a dispatcher whose handler API is not undici 7's (an undici
 * 6 `Agent`, for example). Delivered as the request's error; `fetch` rejects with it as `cause`.
 */
export class UnsupportedDispatcherError extends SwitchyardError {
  constructor(detail: string) {
    super(
      `@switchyard/fetch needs an undici 7 dispatcher (new Agent().compose(switchyard(client)) with the ` +
        `undici package, 7.x): ${detail}`,
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
