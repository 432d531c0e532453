/**
 * Exponential backoff with "equal jitter" (half fixed, half random), so that many clients
 * losing the same etcd member do not reconnect in lockstep.
 *
 * @example
 * retryDelay(3); // between 400 and 800 ms with the defaults
 */
export function retryDelay(attempt: number, initialMs = 100, maxMs = 5_000): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** One step of a cockatiel-style backoff: its delay, and the step after it. */
export interface BackoffStep {
  readonly duration: number;
  next(): BackoffStep;
}

/** {@link retryDelay}'s schedule as a backoff for etcd3's watch reconnects (capped at 5 s, not 30 s). */
export function jitteredBackoff(attempt = 0): BackoffStep {
  return { duration: retryDelay(attempt), next: () => jitteredBackoff(attempt + 1) };
}
