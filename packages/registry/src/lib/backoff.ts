import { ValidationError } from '@switchyard/core';

/** Exponential backoff settings. */
export interface BackoffOptions {
  /** First delay. Default 100 ms. */
  readonly initialMs?: number;
  /** Ceiling. Default 10 s. */
  readonly maxMs?: number;
  /** Growth per attempt. Default 2. */
  readonly multiplier?: number;
}

/** A validated backoff: `delay(attempt)` for attempt 0, 1, 2… */
export interface Backoff {
  delay(attempt: number): number;
}

/**
 * Exponential backoff with "equal jitter" (AWS architecture blog): half of each step is fixed,
 * half random, so clients that failed together do not retry together, yet never retry at once.
 *
 * @example
 * const backoff = jitteredBackoff({ initialMs: 100, maxMs: 5_000 });
 * await sleep(backoff.delay(attempt), signal);
 */
export function jitteredBackoff(options: BackoffOptions = {}, random: () => number = Math.random): Backoff {
  const initialMs = positive(options.initialMs ?? 100, 'backoff.initialMs');
  const maxMs = positive(options.maxMs ?? 10_000, 'backoff.maxMs');
  const multiplier = positive(options.multiplier ?? 2, 'backoff.multiplier');
  if (multiplier < 1) throw new ValidationError('backoff.multiplier', `expected >= 1, got ${multiplier}`);
  if (maxMs < initialMs) {
    throw new ValidationError('backoff.maxMs', `expected >= initialMs (${initialMs}), got ${maxMs}`);
  }
  return {
    delay(attempt: number): number {
      const step = Math.min(maxMs, initialMs * multiplier ** Math.min(attempt, 64));
      return step / 2 + random() * (step / 2);
    },
  };
}

function positive(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError(field, `expected a finite number > 0, got ${String(value)}`);
  }
  return value;
}
