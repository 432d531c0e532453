import { NotRetriedError, neverAbortedSignal, type ServiceInstance, TimeoutError } from '@switchyard/core';
import {
  type AttemptAbortTarget,
  classifyError,
  type DispatchedAttempt,
  type DispatchedCall,
  isIdempotentMethod,
  RETRYABLE_STATUSES,
} from '@switchyard/resilience';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header.js';
import { UpstreamStatusError } from './errors.ts';
import type { InstanceOrigins, LogicalTarget } from './logical-targets.ts';
import { isIterableBody, isReplayable, OnceBody } from './once-body.ts';
import { type CallOverrides, type OutgoingHeaders, prepareHeaders } from './request-headers.ts';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

/** The call options the interceptor gives each request. */
export interface RoutedCallOptions {
  readonly hashKey?: string;
  readonly idempotent?: boolean;
  readonly succeeded?: (statusCode: number) => boolean;
  readonly http?: { method: string; path: string; statusOf?: (statusCode: number) => number };
}

/** What the interceptor needs from a Switchyard client: `ServiceDiscoveryClient` fits. */
export interface SwitchyardCaller {
  /** Runs one request as a call in callback form: see `ServiceDiscoveryClient.dispatchCall`. */
  dispatchCall(service: string, call: DispatchedCall<number>, options?: RoutedCallOptions): void;
}

/** Shared by every request one composed dispatcher routes. */
export interface Route {
  readonly client: SwitchyardCaller;
  readonly dispatch: Dispatcher.Dispatch;
  readonly origins: InstanceOrigins;
  readonly servername: (instance: ServiceInstance, hostname: string) => string | undefined;
}

const isNotServerError = (statusCode: number): boolean => statusCode < 500;
/** An attempt resolves with the answer's status code. */
const statusCodeOf = (statusCode: number): number => statusCode;

/** Bytes of a 429/502/503/504 body kept, so that the last one can still reach the caller. */
const MAX_ANSWER_BYTES = 64 * 1024;
const BODY_SENT = 'the request body is a stream that may already have been sent, and cannot be sent again';

/**
 * One request to a service, from the caller's handler to the instance that answers. It runs
 * as a dispatched call (`dispatchCall`), so every attempt goes through the client's executor (pick, breaker,
 * failover, idempotency, budget, in-flight and latency bookkeeping); an attempt ends when an
 * instance's answer starts (or fails), and from then the answer streams to the caller.
 *
 * It is also the controller the caller's handler holds: pause, resume and abort reach the
 * attempt on the wire, and an abort while no attempt is on the wire ends the request at once.
 */
export class RoutedRequest implements Controller, DispatchedCall<number> {
  readonly #route: Route;
  readonly #service: string;
  readonly #target: LogicalTarget;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #handler: Handler;
  #headers: OutgoingHeaders = {};
  #body: unknown;
  #onceBody: OnceBody | undefined;
  /** A body that cannot be replayed nor watched (FormData…): sent at most once. */
  #oneShotBody = false;
  #dispatched = false;
  #current: InstanceAttempt | undefined;
  #forwarding: InstanceAttempt | undefined;
  #aborted = false;
  #reason: Error | null = null;
  #paused = false;
  #done = false;
  #deadline: NodeJS.Timeout | undefined;

  constructor(
    route: Route,
    service: string,
    target: LogicalTarget,
    opts: Dispatcher.DispatchOptions,
    handler: Handler,
  ) {
    this.#route = route;
    this.#service = service;
    this.#target = target;
    this.#opts = opts;
    this.#handler = handler;
  }

  start(): void {
    const overrides: CallOverrides = {};
    let invalid: unknown;
    try {
      this.#headers = prepareHeaders(this.#opts.headers, this.#target.host, overrides);
    } catch (error) {
      invalid = error;
    }
    this.#handler.onRequestStart?.(this, {});
    if (invalid !== undefined) {
      this.#fail(invalid);
      return;
    }
    if (this.#done) return;
    const body = this.#opts.body;
    if (isReplayable(body)) this.#body = body;
    else if (isIterableBody(body)) this.#body = this.#onceBody = new OnceBody(body);
    else {
      this.#body = body;
      this.#oneShotBody = true;
    }
    const timeoutMs = overrides.timeoutMs;
    if (timeoutMs !== undefined) {
      this.#deadline = setTimeout(
        () => guarded(() => this.abort(new TimeoutError(this.#service, timeoutMs, 'call'))),
        timeoutMs,
      );
      this.#deadline.unref();
    }
    const idempotent = overrides.idempotent ?? isIdempotentMethod(this.#opts.method);
    try {
      this.#route.client.dispatchCall(this.#service, this, {
        hashKey: overrides.hashKey,
        idempotent,
        // A 5xx answer reaches the caller, and counts against the instance for outlier detection.
        succeeded: isNotServerError,
        // Spans and metrics see an HTTP request, and trace context rides along (the third argument).
        http: { method: this.#opts.method, path: this.#opts.path, statusOf: statusCodeOf },
      });
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The call succeeded: its answer is already streaming to the caller. */
  resolve(): void {}

  /** The call failed, after its retries. */
  reject(error: unknown): void {
    guarded(() => this.#gaveUp(error));
  }

  // DispatchController, as the caller's handler sees it.
  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  get rawHeaders(): Controller['rawHeaders'] {
    return this.#forwarding?.controller?.rawHeaders;
  }
  get rawTrailers(): Controller['rawTrailers'] {
    return this.#forwarding?.controller?.rawTrailers;
  }
  pause(): void {
    this.#paused = true;
    this.#forwarding?.controller?.pause();
  }
  resume(): void {
    this.#paused = false;
    this.#forwarding?.controller?.resume();
  }
  abort(reason: Error): void {
    if (this.#aborted || this.#done) return;
    this.#aborted = true;
    this.#reason = reason;
    const controller = this.#current?.controller;
    if (controller !== undefined && !controller.aborted) controller.abort(reason);
    // Waiting for an instance or a backoff, or queued in a pool: the caller hears now.
    this.#fail(reason);
  }

  /** One attempt: a dispatch to `instance`, ended when its answer starts. */
  attempt(
    instance: ServiceInstance,
    context: DispatchedAttempt<number>,
    extraHeaders?: Record<string, string>,
  ): void {
    if (this.#done) {
      context.reject(this.#reason ?? new Error('request already ended'));
      return;
    }
    if (this.#bodyMaybeSent()) {
      context.reject(new NotRetriedError(this.#service, BODY_SENT, { instanceId: instance.id }));
      return;
    }
    const attempt = new InstanceAttempt(this, instance, context);
    this.#current = attempt;
    const tls = this.#target.secure || instance.secure === true;
    const servername = tls
      ? ((this.#opts as { servername?: string }).servername ??
        this.#route.servername(instance, this.#target.hostname))
      : undefined;
    this.#dispatched = true;
    const opts: Dispatcher.DispatchOptions & { servername?: string } = {
      ...this.#opts,
      origin: this.#route.origins.of(instance, tls),
      headers: extraHeaders ? { ...this.#headers, ...extraHeaders } : this.#headers,
      body: this.#body as Dispatcher.DispatchOptions['body'],
    };
    if (servername !== undefined) opts.servername = servername;
    try {
      this.#route.dispatch(opts, attempt);
    } catch (error) {
      attempt.onResponseError(undefined, error as Error);
    }
  }

  /** The reason the next attempt must not start: the caller aborted. */
  get abortReason(): Error | null {
    return this.#reason;
  }

  /** What the executor is told about a failed attempt. */
  judge(error: unknown, instance: ServiceInstance): unknown {
    // A retry would have to send the body again: make the failure final, keeping its cause.
    if (this.#bodyMaybeSent() && classifyError(error).retryable) {
      return new NotRetriedError(this.#service, BODY_SENT, { instanceId: instance.id, cause: error });
    }
    return error;
  }

  forwardStart(
    attempt: InstanceAttempt,
    statusCode: number,
    headers: IncomingHttpHeaders,
    message?: string,
  ): void {
    if (this.#done) return;
    this.#forwarding = attempt;
    this.#clearDeadline();
    if (this.#paused) attempt.controller?.pause();
    this.#handler.onResponseStart?.(this, statusCode, headers, message);
  }

  forwardUpgrade(
    attempt: InstanceAttempt,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: unknown,
  ): void {
    if (this.#done) return;
    this.#forwarding = attempt;
    this.#done = true;
    this.#clearDeadline();
    this.#handler.onRequestUpgrade?.(this, statusCode, headers, socket as never);
  }

  forwardData(chunk: Buffer): void {
    if (!this.#done) this.#handler.onResponseData?.(this, chunk);
  }

  forwardEnd(trailers: IncomingHttpHeaders): void {
    if (this.#done) return;
    this.#done = true;
    this.#handler.onResponseEnd?.(this, trailers);
  }

  forwardError(error: Error): void {
    this.#fail(error);
  }

  #bodyMaybeSent(): boolean {
    return this.#onceBody !== undefined ? this.#onceBody.started : this.#oneShotBody && this.#dispatched;
  }

  /** The call failed: the last 429/502/503/504 answer goes to the caller as it was; anything else as an error. */
  #gaveUp(error: unknown): void {
    if (this.#done) return;
    const answer = findAnswer(error);
    if (answer === undefined) {
      this.#fail(error);
      return;
    }
    this.#clearDeadline();
    this.#handler.onResponseStart?.(this, answer.statusCode, answer.headers, answer.statusMessage);
    if (this.#done) return;
    if (answer.body.length > 0) this.#handler.onResponseData?.(this, answer.body);
    if (this.#done) return;
    this.#done = true;
    this.#handler.onResponseEnd?.(this, {});
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearDeadline();
    // As undici does on a failed request: a stream body nobody will read is released.
    const body = this.#opts.body as
      | { destroy?: (error?: Error) => void; destroyed?: boolean }
      | null
      | undefined;
    if (body && typeof body.destroy === 'function' && body.destroyed !== true) {
      body.destroy(error instanceof Error ? error : undefined);
    }
    this.#handler.onResponseError?.(this, error instanceof Error ? error : new Error(String(error)));
  }

  #clearDeadline(): void {
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }
}

/** One dispatch to one instance: undici's handler for it. */
class InstanceAttempt implements Handler {
  controller: Controller | undefined;
  readonly #request: RoutedRequest;
  readonly #instance: ServiceInstance;
  /** The executor's attempt: ended with the answer's status code, or an error. */
  readonly #attempt: DispatchedAttempt<number>;
  /** Its aborts: the executor's lightweight target when there is one (no AbortController). */
  readonly #signal: AttemptAbortTarget;
  #settled = false;
  #forwarded = false;
  #answer:
    | {
        statusCode: number;
        statusMessage?: string;
        headers: IncomingHttpHeaders;
        chunks: Buffer[];
        size: number;
      }
    | undefined;

  constructor(request: RoutedRequest, instance: ServiceInstance, attempt: DispatchedAttempt<number>) {
    this.#request = request;
    this.#instance = instance;
    this.#attempt = attempt;
    const signal = attempt.abortTarget ?? attempt.signal;
    this.#signal = signal;
    // A signal that can never abort would only collect listeners.
    if (signal !== neverAbortedSignal) signal.addEventListener('abort', this);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    const reason =
      this.#request.abortReason ?? (this.#signal.aborted ? (this.#signal.reason as Error) : null);
    if (reason !== null) controller.abort(reason);
  }

  onRequestUpgrade(
    _controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: unknown,
  ): void {
    this.#forwarded = true;
    this.#settle();
    this.#attempt.resolve(statusCode);
    this.#request.forwardUpgrade(this, statusCode, headers, socket);
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    message?: string,
  ): void {
    if (RETRYABLE_STATUSES.has(statusCode)) {
      this.#answer = { statusCode, statusMessage: message, headers, chunks: [], size: 0 };
      return;
    }
    this.#forwarded = true;
    this.#settle();
    this.#attempt.resolve(statusCode);
    this.#request.forwardStart(this, statusCode, headers, message);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    const answer = this.#answer;
    if (answer === undefined) {
      this.#request.forwardData(chunk);
      return;
    }
    if (answer.size < MAX_ANSWER_BYTES) answer.chunks.push(chunk.subarray(0, MAX_ANSWER_BYTES - answer.size));
    answer.size += chunk.length;
  }

  onResponseEnd(_controller: Controller, trailers: IncomingHttpHeaders): void {
    const answer = this.#answer;
    if (answer === undefined) {
      this.#request.forwardEnd(trailers);
      return;
    }
    const body = Buffer.concat(answer.chunks);
    this.#fail(
      new UpstreamStatusError(this.#instance.service, this.#instance.id, {
        statusCode: answer.statusCode,
        statusMessage: answer.statusMessage,
        headers: answer.headers,
        body,
        discardedBytes: answer.size - body.length,
      }),
    );
  }

  onResponseError(_controller: Controller | undefined, error: Error): void {
    if (this.#forwarded) {
      this.#request.forwardError(error);
      return;
    }
    this.#fail(error);
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settle();
    this.#attempt.reject(this.#request.judge(error, this.#instance));
  }

  #settle(): void {
    this.#settled = true;
    if (this.#signal !== neverAbortedSignal) this.#signal.removeEventListener('abort', this);
  }

  /** The attempt aborted (an object listener: no closure per attempt). */
  handleEvent(): void {
    if (this.#settled) return;
    const reason = this.#signal.reason as Error;
    if (this.controller !== undefined) this.controller.abort(reason);
    // Not started yet (queued in its pool): onRequestStart aborts it; the attempt ends now.
    else this.#fail(reason);
  }
}

/**
 * Runs a delivery to the caller's handler outside undici's own call stack (a timer, a promise
 * callback): a handler that throws there must not take the process down.
 */
function guarded(deliver: () => void): void {
  try {
    deliver();
  } catch {
    // The handler failed on its own error path; there is no one left to tell.
  }
}

/** The buffered 429/502/503/504 answer behind a give-up, if that is what ended the call. */
function findAnswer(error: unknown): UpstreamStatusError | undefined {
  let current = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    if (current instanceof UpstreamStatusError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
