import { ValidationError } from '@switchyard/core';

/** Checks an optional registration TTL: absent, or a finite number of milliseconds > 0. */
export function validateTtl(ttlMs: unknown, field = 'ttlMs'): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new ValidationError(
      field,
      `expected a finite number of milliseconds > 0, got ${typeof ttlMs === 'number' ? ttlMs : typeof ttlMs}`,
    );
  }
  return ttlMs;
}
