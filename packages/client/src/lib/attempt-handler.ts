import type { ServiceInstance } from '@switchyard/core';
import type { AttemptAbortTarget } from '@switchyard/resilience';
import { type Dispatcher, util } from 'undici';
import { settleAnswer, settleFailure } from './attempt-outcome.ts';
import type { AttemptSettle, HttpResponse } from './send-request.ts';
import type { ResponseBody, ResponseBodyClass } from './undici-body.ts';

type Abort = (reason?: Error) => void;

function ignore(): void {}

/**
 * One attempt on undici's dispatch API: what `pool.request()` does, less what an attempt does not
 * need. It listens on the attempt's abort target itself (no closures, nothing to remove when the
 * body closes), and keeps no async-context resource: the caller's promise carries the caller's
 * context. The answer's body is undici's own body class, so users read it as they always do.
 */
export class AttemptHandler implements Dispatcher.DispatchHandler {
  readonly #instance: ServiceInstance;
  readonly #servername: string | undefined;
  readonly #head: boolean;
  readonly #settle: AttemptSettle<HttpResponse>;
  readonly #target: AttemptAbortTarget | undefined;
  readonly #Body: ResponseBodyClass;
  #abort: Abort | null = null;
  #aborted = false;
  #reason: unknown;
  #body: ResponseBody | null = null;
  // undici types trailers as strings; a repeated trailer becomes an array as in pool.request().
  #trailers: Record<string, string> = {};

  constructor(
    instance: ServiceInstance,
    servername: string | undefined,
    method: string,
    settle: AttemptSettle<HttpResponse>,
    target: AttemptAbortTarget | undefined,
    Body: ResponseBodyClass,
  ) {
    this.#instance = instance;
    this.#servername = servername;
    this.#head = method === 'HEAD';
    this.#settle = settle;
    this.#target = target;
    this.#Body = Body;
    if (target === undefined) return;
    if (target.aborted) {
      this.#aborted = true;
      this.#reason = target.reason;
    } else {
      target.addEventListener('abort', this);
    }
  }

  /** The attempt was aborted before its answer came: the request stops (or is never sent). */
  handleEvent(): void {
    this.#aborted = true;
    this.#reason = this.#target?.reason;
    if (this.#body === null) this.#abort?.(this.#reason as Error);
  }

  onConnect(abort: Abort): void {
    if (this.#aborted) abort(this.#reason as Error);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, _statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the answer is still to come
    // From here the caller owns the answer: aborting the attempt no longer touches it.
    this.#target?.removeEventListener('abort', this);
    const headers = util.parseHeaders(rawHeaders);
    const length = headers['content-length'];
    const body = new this.#Body({
      resume,
      abort: this.#abort,
      contentType: headers['content-type'] as string | undefined,
      contentLength: !this.#head && length ? Number(length) : null,
    });
    this.#body = body;
    settleAnswer(this.#instance, statusCode, headers, this.#trailers, body, this.#settle);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.#body?.push(chunk) ?? false;
  }

  onComplete(trailers: string[] | null): void {
    if (trailers) util.parseHeaders(trailers, this.#trailers as Record<string, string | string[]>);
    this.#body?.push(null);
  }

  onError(error: Error): void {
    const body = this.#body;
    if (body === null) {
      this.#target?.removeEventListener('abort', this);
      // Never settled inside dispatch() itself (undici calls onError there for bad options).
      queueMicrotask(() => settleFailure(this.#instance, this.#servername, error, this.#settle));
      return;
    }
    this.#body = null;
    // After the handlers already queued have run, as pool.request() does.
    queueMicrotask(() => body.on('error', ignore).destroy(error));
  }
}
