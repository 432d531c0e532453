/**
 * Exponential backoff with "equal jitter" (half fixed, half random), so that many watchers
 * losing the same registry do not come back in lockstep.
 *
 * @example
 * retryDelay(3, 250, 30_000); // between 1,000 and 2,000 ms
 */
export function retryDelay(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
