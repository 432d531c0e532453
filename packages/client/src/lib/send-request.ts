import { type ServiceInstance, ValidationError } from '@switchyard/core';
import type { AttemptContext } from '@switchyard/resilience';
import type { Dispatcher } from 'undici';
import { AttemptHandler } from './attempt-handler.ts';
import { settleAnswer, settleFailure } from './attempt-outcome.ts';
import type { OriginPools } from './origin-pools.ts';
import { ResponseBodyClass } from './undici-body.ts';

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
  Body: ResponseBodyClass | null = ResponseBodyClass,
): void {
  checkRequest(instance.service, request);
  const route = pools.route(instance);
  const method = request.method ?? 'GET';
  const options: Dispatcher.DispatchOptions & { servername?: string | undefined } = {
    method,
    path: request.path,
    query: request.query,
    headers: request.headers as Record<string, string>,
    body: request.body ?? null,
    headersTimeout: request.headersTimeout,
    bodyTimeout: request.bodyTimeout,
    // Per request as well as per pool: undici would otherwise take the name to verify from a
    // `Host` header.
    servername: route.servername,
  };
  const pool = pools.pool(route);
  if (Body !== null) {
    // undici calls back (never throws), also for an error in the options.
    pool.dispatch(
      options,
      new AttemptHandler(instance, route.servername, method, settle, context.abortTarget, Body),
    );
    return;
  }
  // Without undici's body class: its request(), in callback form, aborted through the attempt's
  // abort target (undici takes any object with addEventListener('abort')).
  const withSignal = { ...options, signal: context.abortTarget as AbortSignal | undefined };
  pool.request(withSignal, (error, response) => {
    if (error) settleFailure(instance, route.servername, error, settle);
    else
      settleAnswer(instance, response.statusCode, response.headers, response.trailers, response.body, settle);
  });
}

function checkRequest(service: string, request: HttpRequest): void {
  if (!request || typeof request.path !== 'string' || !request.path.startsWith('/')) {
    throw new ValidationError('path', `expected a path starting with '/', got ${String(request?.path)}`, {
      service,
    });
  }
  if (request.method === 'CONNECT') {
    throw new ValidationError('method', 'CONNECT opens a tunnel: it is not a request', { service });
  }
  const body = request.body;
  if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new ValidationError('body', 'expected a string or bytes, which can be sent again on retry', {
      service,
    });
  }
}
