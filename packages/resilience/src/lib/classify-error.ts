import {
  CircuitOpenError,
  isAbortError,
  NoAvailableInstanceError,
  SwitchyardError,
  TimeoutError,
} from '@switchyard/core';
import { BrokenCircuitError, IsolatedCircuitError } from 'cockatiel';

/** What the executor may do after an attempt failed with some error. */
export interface FailureClass {
  /** Worth another attempt at all. */
  readonly retryable: boolean;
  /** The request may have been sent to (and processed by) the instance. */
  readonly reachedInstance: boolean;
  /** The instance asked for a pause before the next try (429/503 `Retry-After`). */
  readonly retryAfterMs?: number;
  /**
   * The failure speaks against the instance, so its breaker and outlier detection count it.
   * Default: `retryable`. False for a 429 ("slow down" is not "broken"), an open breaker or no
   * instance (nothing was sent).
   */
  readonly againstInstance?: boolean;
  /**
   * The instance is alive but asks for less traffic (429, 503). The first such answer fails over
   * at once; a second one in the same call (the whole service is overloaded) backs off.
   */
  readonly overload?: boolean;
}

/** Network error codes raised before a request could leave this process: always safe to retry. */
export const NEVER_REACHED_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Network error codes raised after the request may have been sent: retry only when idempotent. */
export const MAYBE_REACHED_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** HTTP statuses that say "this instance cannot serve now" (undici's and Envoy's defaults). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

// Shared frozen answers: classifying the common cases allocates nothing.
const NEVER_REACHED: FailureClass = Object.freeze({
  retryable: true,
  reachedInstance: false,
  againstInstance: true,
});
const NOT_SENT: FailureClass = Object.freeze({
  retryable: true,
  reachedInstance: false,
  againstInstance: false,
});
const MAYBE_REACHED: FailureClass = Object.freeze({
  retryable: true,
  reachedInstance: true,
  againstInstance: true,
});
const UNAVAILABLE: FailureClass = Object.freeze({
  retryable: true,
  reachedInstance: true,
  againstInstance: true,
  overload: true,
});
const SLOW_DOWN: FailureClass = Object.freeze({
  retryable: true,
  reachedInstance: true,
  againstInstance: false,
  overload: true,
});
const FINAL: FailureClass = Object.freeze({
  retryable: false,
  reachedInstance: true,
  againstInstance: false,
});

/**
 * The default failure classification (undici's retry handler and Envoy's `retry_on` as models).
 * Unknown errors are final and assumed to have reached the instance: the safe side for a POST.
 *
 * @example
 * classifyError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
 * // → { retryable: true, reachedInstance: false }
 */
export function classifyError(error: unknown): FailureClass {
  if (error instanceof SwitchyardError) {
    if (error instanceof CircuitOpenError || error instanceof NoAvailableInstanceError) return NOT_SENT;
    if (error instanceof TimeoutError) return error.scope === 'attempt' ? MAYBE_REACHED : FINAL;
    // A Switchyard error with a status (the client's HttpStatusError) is judged by it; any other
    // (a nested call's budget or bulkhead refusal, a validation error) is final.
    const status = statusOf(error);
    return status === undefined ? FINAL : classifyStatus(status, error);
  }
  if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) return NOT_SENT;
  if (isAbortError(error)) return FINAL;
  // undici's fetch wraps the socket error in a TypeError('fetch failed'): look a few causes deep.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (NEVER_REACHED_CODES.has(code)) return NEVER_REACHED;
      if (MAYBE_REACHED_CODES.has(code)) return MAYBE_REACHED;
    }
    const status = statusOf(current);
    if (status !== undefined) return classifyStatus(status, current);
    current = (current as { cause?: unknown }).cause;
  }
  return FINAL;
}

function statusOf(error: object): number | undefined {
  const value = (error as { statusCode?: unknown }).statusCode ?? (error as { status?: unknown }).status;
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function classifyStatus(status: number, error: object): FailureClass {
  if (!RETRYABLE_STATUSES.has(status)) return FINAL;
  if (status === 429 || status === 503) {
    const answer = status === 429 ? SLOW_DOWN : UNAVAILABLE;
    const retryAfterMs = parseRetryAfter(headerOf(error, 'retry-after'));
    return retryAfterMs === undefined ? answer : { ...answer, retryAfterMs };
  }
  return MAYBE_REACHED;
}

function headerOf(error: object, name: string): unknown {
  const headers = (error as { headers?: unknown }).headers;
  if (headers === null || typeof headers !== 'object') return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date. Undefined when
 * absent or unreadable; never negative.
 */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its weekday and month; bare numbers like "-1" are not dates.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
