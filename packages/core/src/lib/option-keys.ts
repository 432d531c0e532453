import { type Clock, systemClock } from './clock.ts';
import { ValidationError } from './errors.ts';

/**
 * Rejects option keys a factory does not know, for plain-JavaScript users whose typo would
 * otherwise be ignored: `{ timeout: 2000 }` gets "unknown option timeout (did you mean
 * timeoutMs?)". `where` prefixes the field (`retry.` → `retry.attempts`).
 *
 * @example
 * rejectUnknownOptions(options, ['url', 'timeoutMs'], 'HttpRegistry options');
 */
export function rejectUnknownOptions(
  options: object | undefined,
  known: readonly string[],
  where = '',
): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ValidationError(where || 'options', `expected an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const field = where ? `${where}.${key}` : key;
    const suggestion = closest(key, known);
    throw new ValidationError(
      field,
      `unknown option${suggestion ? ` (did you mean ${where ? `${where}.` : ''}${suggestion}?)` : ''}; known: ${known.join(', ')}`,
    );
  }
}

/** A value and its type, for error messages: `"2000" (string)`, `NaN (number)`, `an array`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} (string)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} (${typeof value})`;
  }
  return Array.isArray(value) ? 'an array' : typeof value;
}

/** The known key nearest to `key` (case-insensitive prefix/substring or edit distance ≤ 3). */
function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    const score = c.startsWith(lower) || lower.startsWith(c) ? 0.5 : editDistance(lower, c);
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  return bestScore <= 3 ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** A Clock (now, setTimeout, clearTimeout) from options, or the system's when absent. */
export function validateClock(clock: unknown, field = 'clock'): Clock {
  if (clock === undefined) return systemClock;
  const candidate = clock as Partial<Clock> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.now !== 'function' ||
    typeof candidate.setTimeout !== 'function' ||
    typeof candidate.clearTimeout !== 'function'
  ) {
    throw new ValidationError(
      field,
      `expected a Clock { now, setTimeout, clearTimeout }, got ${describeValue(clock)}`,
    );
  }
  return clock as Clock;
}
