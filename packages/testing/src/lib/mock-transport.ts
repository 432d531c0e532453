import { sleep, ValidationError } from '@switchyard/core';
import { HttpResponse, http, type RequestHandler } from 'msw';

/** A request as the mocks' protocol functions see it, independent of msw. */
export interface MockRequestInfo {
  readonly method: string;
  readonly pathname: string;
  readonly searchParams: URLSearchParams;
  readonly headers: Headers;
  readonly bodyText: string;
  readonly signal: AbortSignal;
}

export interface MockAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array;
}

/** A scripted failure for `failNext`. `delayMs` alone delays a normal answer. */
export interface MockFault {
  /** Answer this HTTP status (with a JSON `{ error }` body) instead of the real answer. */
  readonly status?: number;
  /** Fail at the network level (`HttpResponse.error()`: fetch rejects with a TypeError). */
  readonly networkError?: boolean;
  /** Wait this long first (the request's abort still ends the wait). */
  readonly delayMs?: number;
  /** Only requests whose path (below the mock's URL) matches count toward this fault. */
  readonly path?: string | RegExp;
}

/** One request a mock received, in arrival order. */
export interface MockRequest {
  readonly method: string;
  /** Path below the mock's base URL, without the query. */
  readonly path: string;
  readonly searchParams: URLSearchParams;
  readonly body: string;
  /** `Date.now()` when it arrived. */
  readonly at: number;
  /** The scripted fault it met, if any. */
  readonly fault?: MockFault | undefined;
}

interface QueuedFault {
  readonly fault: MockFault;
  left: number;
}

/**
 * The control surface both mocks share: a queue of scripted faults (`failNext`) and the log of
 * received requests. `handlers()` turns a protocol function into msw handlers under `baseUrl`.
 */
export class MockTransport {
  readonly baseUrl: string;
  readonly #basePath: string;
  readonly #queue: QueuedFault[] = [];
  readonly #log: MockRequest[] = [];

  readonly #plainErrors: boolean;

  /** @param plainErrors answer injected statuses with a text body (Consul's style) instead of JSON. */
  constructor(url: string, options: { plainErrors?: boolean } = {}) {
    this.#plainErrors = options.plainErrors ?? false;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ValidationError('url', `expected an absolute http(s) URL, got ${JSON.stringify(url)}`);
    }
    this.baseUrl = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
    this.#basePath = parsed.pathname.replace(/\/+$/, '');
  }

  /** Queues `fault` for the next `n` matching requests (Infinity: until cleared), after any queued before. */
  failNext(n: number, fault: MockFault): void {
    if (n !== Number.POSITIVE_INFINITY && (!Number.isInteger(n) || n < 1)) {
      throw new ValidationError('failNext.n', `expected an integer >= 1 or Infinity, got ${String(n)}`);
    }
    const { status, networkError, delayMs } = fault ?? {};
    if (status === undefined && !networkError && delayMs === undefined) {
      throw new ValidationError('failNext.fault', 'give a status, networkError: true or delayMs');
    }
    if (status !== undefined && (!Number.isInteger(status) || status < 100 || status > 599)) {
      throw new ValidationError('failNext.status', `expected an HTTP status 100..599, got ${String(status)}`);
    }
    if (delayMs !== undefined && (!Number.isFinite(delayMs) || delayMs < 0)) {
      throw new ValidationError('failNext.delayMs', `expected a finite number >= 0, got ${String(delayMs)}`);
    }
    this.#queue.push({ fault: Object.freeze({ ...fault }), left: n });
  }

  requests(): readonly MockRequest[] {
    return [...this.#log];
  }

  /** Forgets queued faults and the request log. */
  clear(): void {
    this.#queue.length = 0;
    this.#log.length = 0;
  }

  /** msw handlers that log each request, apply its scripted fault, then let `handle` answer. */
  handlers(handle: (request: MockRequestInfo) => Promise<MockAnswer>): RequestHandler[] {
    return [
      // A RegExp without capture groups: msw's string patterns percent-decode the path and
      // throw on malformed escapes, which the protocol handlers must see and answer with a 400.
      http.all(new RegExp(`^${escapeRegExp(this.baseUrl)}/.*$`), async ({ request }) => {
        const url = new URL(request.url);
        const path = url.pathname.slice(this.#basePath.length) || '/';
        const bodyText = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text();
        const fault = this.#take(path);
        this.#log.push({
          method: request.method,
          path,
          searchParams: url.searchParams,
          body: bodyText,
          at: Date.now(),
          fault,
        });
        try {
          if (fault?.delayMs) await sleep(fault.delayMs, request.signal);
        } catch {
          return HttpResponse.error();
        }
        if (fault?.networkError) return HttpResponse.error();
        if (fault?.status !== undefined) {
          const message = `injected ${fault.status}`;
          return this.#plainErrors
            ? HttpResponse.text(message, { status: fault.status })
            : HttpResponse.json({ error: message }, { status: fault.status });
        }
        const headers = request.headers;
        const answer = await handle({
          method: request.method,
          pathname: path,
          searchParams: url.searchParams,
          headers,
          bodyText,
          signal: request.signal,
        }).catch((error: unknown) => {
          if (request.signal.aborted) return undefined;
          throw error;
        });
        if (!answer) return HttpResponse.error();
        const status = answer.status;
        const body = status === 204 || status === 304 ? null : answer.body;
        return new HttpResponse(body, { status, headers: answer.headers });
      }),
    ];
  }

  #take(path: string): MockFault | undefined {
    const index = this.#queue.findIndex(({ fault }) => matches(fault.path, path));
    if (index === -1) return undefined;
    const entry = this.#queue[index]!;
    if (--entry.left === 0) this.#queue.splice(index, 1);
    return entry.fault;
  }
}

function matches(filter: string | RegExp | undefined, path: string): boolean {
  if (filter === undefined) return true;
  return typeof filter === 'string'
    ? path === filter || path.startsWith(`${filter.replace(/\/$/, '')}/`)
    : filter.test(path);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
