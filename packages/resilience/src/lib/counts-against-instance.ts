import { isAbortError, TimeoutError } from '@switchyard/core';
import { classifyError, type FailureClass } from './classify-error.ts';

/**
 * Whether a failed attempt speaks against the instance it went to (Envoy's gateway errors):
 * refused or reset connections, DNS failures, attempt timeouts, 502/503/504. Not a 429 ("slow
 * down" is not "broken"), a 4xx or an application error (the instance answered), a call
 * deadline, an open breaker, or an attempt cancelled by its caller or by a hedge that won.
 * Circuit breakers and outlier detection both count failures by this one rule.
 *
 * `cancelled`: the attempt was aborted from outside (the caller's signal, a winning hedge), or the
 * attempt's signal, read as cancelled when aborted (its own attempt timeout still counts).
 *
 * @example
 * countsAgainstInstance(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })); // true
 * countsAgainstInstance(Object.assign(new Error('slow down'), { statusCode: 429 })); // false
 */
export function countsAgainstInstance(
  error: unknown,
  cancelled: boolean | AbortSignal = false,
  classify: (error: unknown) => FailureClass = classifyError,
): boolean {
  if (error instanceof TimeoutError) return error.scope === 'attempt';
  if (cancelled === true || (cancelled !== false && cancelled.aborted) || isAbortError(error)) return false;
  const failure = classify(error);
  return failure.againstInstance ?? failure.retryable;
}
