import {
  abortReason,
  RegistryProtocolError,
  RegistryUnavailableError,
  SwitchyardError,
} from '@switchyard/core';
import type { ResolvedConsulOptions } from './consul-options.ts';

/** A Consul answer: status, the `X-Consul-Index` header (when sent) and the body text. */
export interface ConsulAnswer {
  readonly status: number;
  readonly index: number | undefined;
  readonly text: string;
}

/**
 * One HTTP call to Consul with the ACL token header and a deadline. Network failures and
 * timeouts become RegistryUnavailableError; an abort by `signal` rejects with its reason.
 * Any HTTP status is returned: the caller decides what it means. A body larger than
 * `maxResponseBytes` is refused with RegistryProtocolError before it is read in full: at once
 * when `Content-Length` says so, else as soon as the bytes read pass the limit.
 *
 * @example
 * const answer = await consulRequest(options, 'GET', '/v1/health/service/users?passing=1', { timeoutMs: 5000 });
 */
export async function consulRequest(
  options: ResolvedConsulOptions,
  method: 'GET' | 'PUT',
  path: string,
  call: {
    readonly timeoutMs: number;
    readonly signal?: AbortSignal | undefined;
    readonly body?: unknown;
    readonly service?: string;
  },
): Promise<ConsulAnswer> {
  const { signal, service } = call;
  if (signal?.aborted) throw abortReason(signal);
  // AbortSignal.timeout throws on a fractional delay, and a blocking query's is wait + wait/16 + ….
  const timeout = AbortSignal.timeout(Math.ceil(call.timeoutMs));
  // Aborted when a body turns out too large, so that the connection is dropped, not drained.
  const refuse = new AbortController();
  const combined = AbortSignal.any(signal ? [signal, timeout, refuse.signal] : [timeout, refuse.signal]);
  const headers: Record<string, string> = {};
  if (options.token) headers['X-Consul-Token'] = options.token;
  if (call.body !== undefined) headers['Content-Type'] = 'application/json';
  // Looked up per call, so that interceptors installed after construction (msw) apply.
  const fetchImpl = options.fetch ?? globalThis.fetch;
  try {
    const response = await fetchImpl(`${options.url}${path}`, {
      method,
      headers,
      signal: combined,
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
    });
    const text = await readBounded(response, options.maxResponseBytes, refuse, {
      what: `Consul ${method} ${path.split('?')[0]}`,
      service,
    });
    const raw = response.headers.get('x-consul-index');
    return { status: response.status, index: raw === null ? undefined : Number(raw), text };
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    if (error instanceof SwitchyardError) throw error;
    const detail = timeout.aborted ? `no answer within ${call.timeoutMs} ms` : (error as Error).message;
    throw new RegistryUnavailableError(`Consul ${method} ${path.split('?')[0]} failed: ${detail}`, {
      service,
      cause: error,
    });
  }
}

/** The body as text, refusing (and cancelling) it once it is known or seen to exceed `maxBytes`. */
async function readBounded(
  response: Response,
  maxBytes: number,
  refuse: AbortController,
  about: { readonly what: string; readonly service: string | undefined },
): Promise<string> {
  const tooLarge = (size: string) => {
    const error = new RegistryProtocolError(
      `${about.what} answered ${size}, more than maxResponseBytes (${maxBytes})`,
      { service: about.service },
    );
    // Not awaited: cancelling may wait on a peer that never stops sending.
    refuse.abort(error);
    return error;
  };
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    response.body?.cancel().catch(() => undefined);
    throw tooLarge(`${declared} bytes (Content-Length)`);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      reader.cancel().catch(() => undefined);
      throw tooLarge(`over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** The typed error for a non-2xx answer: 5xx and 429 are unavailability, the rest protocol errors. */
export function statusError(answer: ConsulAnswer, what: string, service?: string): SwitchyardError {
  const detail = `${what} answered ${answer.status}: ${answer.text.slice(0, 200)}`;
  return answer.status >= 500 || answer.status === 429
    ? new RegistryUnavailableError(detail, { service })
    : new RegistryProtocolError(detail, { service });
}
