import { abortReason, RegistryUnavailableError, ValidationError } from '@switchyard/core';

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
}

export interface RegistryAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * Sends one protocol request and reads the whole answer (bodies are small, and reading them
 * frees the keep-alive connection). `fetch` is looked up on every request, so an msw patch of
 * the global fetch applies even when installed after construction.
 * Rejects with the signal's reason on abort, and with RegistryUnavailableError when the
 * registry cannot be reached, times out or answers 5xx.
 */
export async function sendRegistryCall(
  baseUrl: string,
  fetchImpl: FetchLike | undefined,
  call: RegistryCall,
): Promise<RegistryAnswer> {
  const { signal, timeoutMs, service, instanceId } = call;
  if (signal?.aborted) throw abortReason(signal);
  const url = `${baseUrl}${call.path}`;
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
    const fetchFn = fetchImpl ?? globalThis.fetch;
    const init: RequestInit = { method: call.method, signal: controller.signal };
    if (call.body !== undefined) {
      init.body = call.body;
      init.headers = { 'content-type': 'application/json' };
    }
    const response = await fetchFn(url, init);
    const text = await response.text();
    if (response.status >= 500) {
      throw new RegistryUnavailableError(`${call.method} ${url} answered HTTP ${response.status}`, {
        service,
        instanceId,
        cause: text,
      });
    }
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    if (error instanceof RegistryUnavailableError) throw error;
    const detail = timedOut
      ? `no answer from ${url} within ${timeoutMs} ms`
      : `${call.method} ${url} failed: ${describeError(error)}`;
    throw new RegistryUnavailableError(detail, { service, instanceId, cause: error });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
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

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}
