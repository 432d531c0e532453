import {
  abortReason,
  RegistryProtocolError,
  RegistryUnavailableError,
  type SwitchyardError,
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
 * Any HTTP status is returned: the caller decides what it means.
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
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
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
    const text = await response.text();
    const raw = response.headers.get('x-consul-index');
    return { status: response.status, index: raw === null ? undefined : Number(raw), text };
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    const detail = timeout.aborted ? `no answer within ${call.timeoutMs} ms` : (error as Error).message;
    throw new RegistryUnavailableError(`Consul ${method} ${path.split('?')[0]} failed: ${detail}`, {
      service,
      cause: error,
    });
  }
}

/** The typed error for a non-2xx answer: 5xx and 429 are unavailability, the rest protocol errors. */
export function statusError(answer: ConsulAnswer, what: string, service?: string): SwitchyardError {
  const detail = `${what} answered ${answer.status}: ${answer.text.slice(0, 200)}`;
  return answer.status >= 500 || answer.status === 429
    ? new RegistryUnavailableError(detail, { service })
    : new RegistryProtocolError(detail, { service });
}
