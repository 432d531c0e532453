import { type ServiceInstance, ValidationError } from '@switchyard/core';
import type { AttemptContext } from '@switchyard/resilience';
import type { Dispatcher } from 'undici';
import { HttpStatusError } from './http-status-error.ts';
import type { OriginPools } from './origin-pools.ts';
import { TlsVerificationError } from './tls-verification-error.ts';

/** One HTTP request to "some instance of a service". */
export interface HttpRequest {
  readonly method?: Dispatcher.HttpMethod;
  /** Starts with '/'; may carry a query string. */
  readonly path: string;
  readonly query?: Record<string, string | number | boolean | readonly string[]>;
  readonly headers?: Record<string, string | readonly string[]>;
  /** A replayable body (string or bytes), so that a retry can send it again. */
  readonly body?: string | Uint8Array | null;
  readonly hashKey?: string;
  /** Overrides the method's default idempotency. */
  readonly idempotent?: boolean;
  readonly signal?: AbortSignal;
  readonly hedgeAfterMs?: number;
  /** undici's per-request timeouts, in ms. */
  readonly headersTimeout?: number;
  readonly bodyTimeout?: number;
}

/** undici's answer, plus the instance that gave it. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  readonly trailers: Dispatcher.ResponseData['trailers'];
  readonly body: Dispatcher.ResponseData['body'];
  readonly instance: ServiceInstance;
}

const MAX_ERROR_BODY = 64 * 1024;

/** Where an attempt's outcome goes: a dispatched attempt, or a promise's resolve and reject. */
export interface AttemptSettle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * One attempt: the request to `instance` over its pooled connection. An answer that says "try
 * another instance" (429, 502, 503, 504: undici's retry handler's set) ends it as
 * `HttpStatusError`; a certificate failure as `TlsVerificationError`. Callback form: the
 * outcome goes to `settle` (a dispatched attempt), with no promise of its own.
 */
export function sendRequestTo(
  pools: OriginPools,
  instance: ServiceInstance,
  request: HttpRequest,
  context: AttemptContext,
  settle: AttemptSettle<HttpResponse>,
): void {
  checkRequest(instance.service, request);
  const route = pools.route(instance);
  const options: Dispatcher.RequestOptions & { servername?: string | undefined } = {
    method: request.method ?? 'GET',
    path: request.path,
    query: request.query,
    headers: request.headers as Record<string, string>,
    body: request.body ?? null,
    // The attempt's aborts without an AbortController per attempt (undici takes any object with
    // addEventListener('abort')). Undefined when nothing can abort the attempt.
    signal: context.abortTarget as AbortSignal | undefined,
    headersTimeout: request.headersTimeout,
    bodyTimeout: request.bodyTimeout,
    // Per request as well as per pool: undici would otherwise take the name to verify from a
    // `Host` header.
    servername: route.servername,
  };
  // undici's callback form: no promise of undici's either. It calls back (never throws), also
  // for an error in the options.
  pools.pool(route).request(options, (error, response) => {
    if (error) {
      settle.reject(
        TlsVerificationError.matches(error)
          ? new TlsVerificationError(instance, route.servername, error)
          : error,
      );
      return;
    }
    const status = response.statusCode;
    if (status === 429 || (status >= 502 && status <= 504)) {
      readCapped(response.body).then((text) =>
        settle.reject(new HttpStatusError(instance.service, instance.id, status, response.headers, text)),
      );
      return;
    }
    settle.resolve({
      statusCode: status,
      headers: response.headers,
      trailers: response.trailers,
      body: response.body,
      instance,
    });
  });
}

function checkRequest(service: string, request: HttpRequest): void {
  if (!request || typeof request.path !== 'string' || !request.path.startsWith('/')) {
    throw new ValidationError('path', `expected a path starting with '/', got ${String(request?.path)}`, {
      service,
    });
  }
  const body = request.body;
  if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new ValidationError('body', 'expected a string or bytes, which can be sent again on retry', {
      service,
    });
  }
}

/**
 * Reads at most 64 KiB of an error answer. Past the cap it stops and destroys the body, which
 * closes the connection: an endless (or huge) error body is never drained.
 */
async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      chunks.push(size + bytes.length > MAX_ERROR_BODY ? bytes.subarray(0, MAX_ERROR_BODY - size) : bytes);
      size += bytes.length;
      if (size >= MAX_ERROR_BODY) break; // leaving the loop destroys the body and its socket
    }
  } catch {
    // A body cut short still tells what it had: the status is the error that matters.
  }
  if (!body.destroyed && size >= MAX_ERROR_BODY) body.destroy();
  return Buffer.concat(chunks).toString('utf8');
}
