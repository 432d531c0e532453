import type { ServiceInstance } from '@switchyard/core';
import type { DispatchedAttempt, DispatchedCall } from '@switchyard/resilience';
import type { OriginPools } from './origin-pools.ts';
import { type HttpRequest, type HttpResponse, sendRequestTo } from './send-request.ts';

/**
 * `client.request()` as a dispatched call: each attempt is one undici request whose callback
 * settles it, and the call's outcome settles the caller's promise.
 */
export class RequestCall implements DispatchedCall<HttpResponse> {
  readonly #pools: OriginPools;
  readonly #request: HttpRequest;
  readonly #resolve: (response: HttpResponse) => void;
  readonly #reject: (error: unknown) => void;

  constructor(
    pools: OriginPools,
    request: HttpRequest,
    resolve: (response: HttpResponse) => void,
    reject: (error: unknown) => void,
  ) {
    this.#pools = pools;
    this.#request = request;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  attempt(
    instance: ServiceInstance,
    attempt: DispatchedAttempt<HttpResponse>,
    headers?: Record<string, string>,
  ): void {
    // Headers from a diagnostics subscriber (trace context) ride on a copy of the request.
    const request = headers ? withHeaders(this.#request, headers) : this.#request;
    sendRequestTo(this.#pools, instance, request, attempt, attempt);
  }

  resolve(response: HttpResponse): void {
    this.#resolve(response);
  }

  reject(error: unknown): void {
    this.#reject(error);
  }
}

function withHeaders(request: HttpRequest, extra: Record<string, string>): HttpRequest {
  return { ...request, headers: { ...request.headers, ...extra } };
}
