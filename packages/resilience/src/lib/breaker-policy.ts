import { ValidationError } from '@switchyard/core';
import {
  type CircuitBreakerPolicy,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type IBreaker,
  SamplingBreaker,
} from 'cockatiel';

/** When a circuit breaker opens and how it recovers. */
export interface CircuitBreakerOptions {
  /** Open after this many failures in a row. Default 5. Ignored when `sampling` is set. */
  readonly consecutiveFailures?: number;
  /** Let a probe through this long after opening, ms. Default 10 000. */
  readonly halfOpenAfterMs?: number;
  /** Open on a failure ratio instead: more than `threshold` (0..1) of calls over `durationMs`. */
  readonly sampling?: {
    readonly threshold: number;
    readonly durationMs: number;
    readonly minimumRps?: number;
  };
  /** Probes let through at once while half-open; the first answer decides. Default 1. */
  readonly halfOpenProbes?: number;
}

/** Breaker options with defaults applied and every value checked. */
export interface ResolvedBreakerOptions {
  readonly consecutiveFailures: number;
  readonly halfOpenAfterMs: number;
  readonly sampling: CircuitBreakerOptions['sampling'];
  readonly halfOpenProbes: number;
}

/** Applies defaults and throws a ValidationError naming the first bad field (`field` prefix). */
export function resolveBreakerOptions(
  options: CircuitBreakerOptions | undefined,
  field: string,
): ResolvedBreakerOptions {
  const consecutiveFailures = options?.consecutiveFailures ?? 5;
  const halfOpenAfterMs = options?.halfOpenAfterMs ?? 10_000;
  const halfOpenProbes = options?.halfOpenProbes ?? 1;
  positiveInteger(consecutiveFailures, `${field}.consecutiveFailures`);
  positiveInteger(halfOpenProbes, `${field}.halfOpenProbes`);
  if (!Number.isFinite(halfOpenAfterMs) || halfOpenAfterMs < 0) {
    throw new ValidationError(
      `${field}.halfOpenAfterMs`,
      `expected a finite number ≥ 0, got ${halfOpenAfterMs}`,
    );
  }
  const sampling = options?.sampling;
  if (sampling !== undefined) {
    if (!(sampling.threshold > 0 && sampling.threshold < 1)) {
      throw new ValidationError(
        `${field}.sampling.threshold`,
        `expected a ratio between 0 and 1 (exclusive), got ${sampling.threshold}`,
      );
    }
    if (!(Number.isFinite(sampling.durationMs) && sampling.durationMs > 0)) {
      throw new ValidationError(
        `${field}.sampling.durationMs`,
        `expected a finite number > 0, got ${sampling.durationMs}`,
      );
    }
    if (sampling.minimumRps !== undefined && !(sampling.minimumRps > 0)) {
      throw new ValidationError(
        `${field}.sampling.minimumRps`,
        `expected a number > 0, got ${sampling.minimumRps}`,
      );
    }
  }
  return { consecutiveFailures, halfOpenAfterMs, sampling, halfOpenProbes };
}

/**
 * A cockatiel circuit breaker for the resolved options. `isFailure` decides which errors count:
 * the executor counts only failures that say something about the instance (refused, reset,
 * 5xx, attempt timeout), not a 404 or the caller's own abort.
 */
export function createBreakerPolicy(
  options: ResolvedBreakerOptions,
  isFailure: (error: Error) => boolean,
  breaker: IBreaker = createBreaker(options),
): CircuitBreakerPolicy {
  return circuitBreaker(handleWhen(isFailure), { halfOpenAfter: options.halfOpenAfterMs, breaker });
}

/** cockatiel's trip rule for the options: a ratio over a window, or failures in a row. */
export function createBreaker(options: ResolvedBreakerOptions): IBreaker {
  return options.sampling
    ? new SamplingBreaker({
        threshold: options.sampling.threshold,
        duration: options.sampling.durationMs,
        ...(options.sampling.minimumRps === undefined ? {} : { minimumRps: options.sampling.minimumRps }),
      })
    : new ConsecutiveBreaker(options.consecutiveFailures);
}

function positiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError(field, `expected an integer ≥ 1, got ${value}`);
  }
}
