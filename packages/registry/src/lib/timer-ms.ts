import { describeValue, ValidationError, validateTtl } from '@switchyard/core';

/** The longest delay a Node timer honours; above it Node fires after 1 ms (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Core's `validateTtl` plus the timer ceiling: a TTL or period above 2^31-1 ms (about 24.8 days)
 * would make every timer built on it fire at once, over and over. Kept here until core's
 * `validateTtl` enforces the same bound itself.
 */
export function validateTimerMs(
  value: unknown,
  field = 'ttlMs',
  context: { service?: string; instanceId?: string } = {},
): number | undefined {
  const ms = validateTtl(value, field, context);
  if (ms !== undefined && ms > MAX_TIMER_MS) {
    throw new ValidationError(
      field,
      `expected at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${describeValue(value)}`,
      context,
    );
  }
  return ms;
}
