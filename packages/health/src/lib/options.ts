import { ValidationError } from '@switchyard/core';

// Option checks shared by every factory of this package: each names the option it rejects,
// so a bad configuration fails at construction with a message that says what to fix.

/** A finite number ≥ `min` (and ≤ `max`), or `fallback` when the option is absent. */
export function numberOption(
  value: unknown,
  field: string,
  fallback: number,
  { min = 0, max = Number.POSITIVE_INFINITY, integer = false, exclusiveMin = false } = {},
): number {
  if (value === undefined) return fallback;
  const bad =
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (exclusiveMin ? value <= min : value < min) ||
    value > max ||
    (integer && !Number.isInteger(value));
  if (bad) {
    const kind = integer ? 'an integer' : 'a finite number';
    const range =
      max === Number.POSITIVE_INFINITY ? `${exclusiveMin ? '>' : '≥'} ${min}` : `in ${min}..${max}`;
    throw new ValidationError(field, `expected ${kind} ${range}, got ${describe(value)}`);
  }
  return value;
}

/** One of `choices`, or `fallback` when absent. */
export function choiceOption<T extends string>(
  value: unknown,
  field: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw new ValidationError(field, `expected one of ${choices.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** Throws unless `value` is an object (or absent); returns it, or `{}`. */
export function objectOption<T extends object>(
  value: T | undefined,
  field: string,
): T | Record<string, never> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError(field, `expected an options object, got ${describe(value)}`);
  }
  return value;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}
