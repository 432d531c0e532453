import {
  abortReason,
  RegistryProtocolError,
  RegistryUnavailableError,
  ValidationError,
} from '@switchyard/core';
import { fetch as undiciFetch } from 'undici';
import { ArrayEntryCounter } from './array-entry-counter.ts';
import { RegistryBusyError } from './registry-errors.ts';

/** The subset of `fetch` the HTTP registry needs; inject one to route or mock requests. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface RegistryCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL, already encoded. */
  readonly path: string;
  readonly body?: string;
  readonly signal?: AbortSignal | undefined;
  /** Gives up (RegistryUnavailableError) when no full answer arrives in this time. */
  readonly timeoutMs: number;
  /** For the errors' context. */
  readonly service?: string | undefined;
  readonly instanceId?: string | undefined;
  /** For list answers: refuse (RegistryProtocolError) once a 2xx body shows more array entries. */
  readonly maxEntries?: number | undefined;
}

export interface RegistryAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** How to reach the registry: shared by every call of one HttpRegistry. */
export interface RegistryEndpoint {
  readonly baseUrl: string;
  /** undefined: the global fetch, looked up per request. */
  readonly fetch: FetchLike | undefined;
  /** Sent on every request (authorization, owner key); never put in errors. */
  readonly headers: Readonly<Record<string, string>>;
  /** The undici dispatcher carrying TLS options, when there are any. */
  readonly dispatcher?: unknown;
  /** Answers larger than this are refused (RegistryProtocolError) without being read in full. */
  readonly maxResponseBytes: number;
}

/**
 * Sends one protocol request and reads the answer, up to `maxResponseBytes`: a declared
 * Content-Length above it is refused before reading, and a body that grows past it while
 * streaming is cut off (the connection is dropped). `fetch` is looked up on every request, so
 * an msw patch of the global fetch applies even when installed after construction.
 * Rejects with the signal's reason on abort, with RegistryUnavailableError when the registry
 * cannot be reached, times out or answers 5xx, and with RegistryProtocolError for an oversized
 * answer.
 */
export async function sendRegistryCall(
  endpoint: RegistryEndpoint,
  call: RegistryCall,
): Promise<RegistryAnswer> {
  const { signal, timeoutMs, service, instanceId } = call;
  if (signal?.aborted) throw abortReason(signal);
  const url = `${endpoint.baseUrl}${call.path}`;
  // One controller per request, joined by hand: AbortSignal.any on a long-lived signal keeps
  // references on some Node 20 releases.
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  timer.unref();
  try {
    const fetchFn =
      endpoint.fetch ?? (endpoint.dispatcher ? (undiciFetch as unknown as FetchLike) : globalThis.fetch);
    const headers: Record<string, string> = { ...endpoint.headers };
    const init: RequestInit = {
      method: call.method,
      signal: controller.signal,
      headers,
    };
    if (endpoint.dispatcher) (init as Record<string, unknown>).dispatcher = endpoint.dispatcher;
    if (call.body !== undefined) {
      init.body = call.body;
      headers['content-type'] = 'application/json';
    }
    const response = await fetchFn(url, init);
    const maxEntries = response.status < 300 ? call.maxEntries : undefined;
    const text = await readBounded(response, endpoint.maxResponseBytes, maxEntries, controller, {
      service,
      instanceId,
    });
    const retryAfterMs =
      response.status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
    if (retryAfterMs !== undefined) {
      throw new RegistryBusyError(
        `${call.method} ${url} answered HTTP 503 (retry after ${retryAfterMs} ms)`,
        retryAfterMs,
        {
          service,
          instanceId,
          cause: text.slice(0, 200),
        },
      );
    }
    if (response.status >= 500) {
      throw new RegistryUnavailableError(`${call.method} ${url} answered HTTP ${response.status}`, {
        service,
        instanceId,
        cause: text.slice(0, 200),
      });
    }
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    if (error instanceof RegistryUnavailableError || error instanceof RegistryProtocolError) throw error;
    const detail = timedOut
      ? `no answer from ${url} within ${timeoutMs} ms`
      : `${call.method} ${url} failed: ${describeError(error)}`;
    throw new RegistryUnavailableError(detail, { service, instanceId, cause: error });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Reads the body as UTF-8, refusing (and aborting the transfer) past `limit` bytes. */
async function readBounded(
  response: Response,
  limit: number,
  maxEntries: number | undefined,
  controller: AbortController,
  context: { service?: string | undefined; instanceId?: string | undefined },
): Promise<string> {
  const tooLarge = (size: string) => {
    controller.abort();
    return new RegistryProtocolError(`answer larger than maxResponseBytes (${limit}): ${size}`, context);
  };
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(`Content-Length ${declared}`);
  if (!response.body) return '';
  const reader = response.body.getReader();
  const counter = maxEntries === undefined ? undefined : new ArrayEntryCounter();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`more than ${limit} bytes streamed`);
    }
    counter?.push(value);
    if (counter && maxEntries !== undefined && counter.entries > maxEntries) {
      await reader.cancel().catch(() => undefined);
      controller.abort();
      throw new RegistryProtocolError(
        `answer lists more than maxInstances (${maxEntries}) entries; refused while streaming`,
        context,
      );
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Checks a registry base URL (absolute, http or https) and returns it without trailing slashes. */
export function validateBaseUrl(url: unknown): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch (error) {
    throw new ValidationError('url', `expected an absolute http(s) URL, got ${JSON.stringify(url)}`, {
      cause: error,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError('url', `expected http: or https:, got ${parsed.protocol}`);
  }
  return parsed.href.replace(/\/+$/, '');
}

// A busy registry may ask for a pause; more than this is not honoured (the watch must come back).
const MAX_RETRY_AFTER_MS = 60_000;

/** `Retry-After` in seconds (the form this protocol uses), capped; undefined when absent or not a number. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Math.min(Number(value.trim()) * 1000, MAX_RETRY_AFTER_MS);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}
