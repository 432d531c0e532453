import {
  type Clock,
  describeValue,
  systemClock,
  ValidationError,
  validateServiceName,
} from '@switchyard/core';
import { DEFAULT_BACKOFF, jitterMode, type ResolvedBackoff } from './backoff.ts';
import { type ResolvedBreakerOptions, resolveBreakerOptions } from './breaker-policy.ts';
import { classifyError, type FailureClass } from './classify-error.ts';
import type { ExecuteOptions, ExecutorOptions, InstanceSource, RetryOptions } from './executor-types.ts';
import type { RetryBudgetOptions } from './retry-budget.ts';

/** Executor options with every default applied and every value checked. */
export interface ResolvedExecutorOptions {
  readonly service: string;
  readonly maxAttempts: number;
  readonly backoff: ResolvedBackoff;
  readonly retryOn: RetryOptions['retryOn'];
  readonly timeoutMs: number | undefined;
  readonly deadlineMs: number | undefined;
  readonly circuitBreaker: ResolvedBreakerOptions | undefined;
  readonly serviceBreaker: ResolvedBreakerOptions | undefined;
  readonly bulkhead: { readonly maxConcurrent: number; readonly maxQueue: number } | undefined;
  readonly retryBudget: RetryBudgetOptions | undefined;
  readonly classify: (error: unknown) => FailureClass;
  readonly onAttemptEnd: ExecutorOptions['onAttemptEnd'];
  readonly clock: Clock;
  readonly random: () => number;
}

/** Validates up front (undici's habit): a bad option throws a ValidationError naming its path. */
export function resolveExecutorOptions(options: ExecutorOptions): ResolvedExecutorOptions {
  if (options === null || typeof options !== 'object') {
    throw new ValidationError('options', 'expected an object with at least `service`');
  }
  const service = validateServiceName(options.service, 'service');
  const retry = options.retry === false ? { maxAttempts: 1 } : (options.retry ?? {});
  const maxAttempts = retry.maxAttempts ?? 3;
  integerAtLeast(maxAttempts, 1, 'retry.maxAttempts');
  const b = retry.backoff ?? {};
  const backoff: ResolvedBackoff = {
    initialMs: b.initialMs ?? DEFAULT_BACKOFF.initialMs,
    maxMs: b.maxMs ?? DEFAULT_BACKOFF.maxMs,
    multiplier: b.multiplier ?? DEFAULT_BACKOFF.multiplier,
    jitter: jitterMode(b.jitter),
  };
  finiteAtLeast(backoff.initialMs, 0, 'retry.backoff.initialMs');
  finiteAtLeast(backoff.maxMs, backoff.initialMs, 'retry.backoff.maxMs');
  finiteAtLeast(backoff.multiplier, 1, 'retry.backoff.multiplier');
  if (!['full', 'equal', 'none'].includes(backoff.jitter)) {
    throw new ValidationError(
      'retry.backoff.jitter',
      `expected 'full', 'equal', 'none' or a boolean, got ${String(b.jitter)}`,
    );
  }
  const retryOn = 'retryOn' in retry ? retry.retryOn : undefined;
  if (retryOn !== undefined && typeof retryOn !== 'function') {
    throw new ValidationError('retry.retryOn', 'expected a function');
  }
  if (options.timeoutMs !== undefined) finiteAtLeast(options.timeoutMs, 1, 'timeoutMs');
  if (options.deadlineMs !== undefined) finiteAtLeast(options.deadlineMs, 1, 'deadlineMs');
  let bulkhead: ResolvedExecutorOptions['bulkhead'];
  if (options.bulkhead !== undefined) {
    integerAtLeast(options.bulkhead.maxConcurrent, 1, 'bulkhead.maxConcurrent');
    const maxQueue = options.bulkhead.maxQueue ?? 0;
    integerAtLeast(maxQueue, 0, 'bulkhead.maxQueue');
    bulkhead = { maxConcurrent: options.bulkhead.maxConcurrent, maxQueue };
  }
  for (const hook of ['classify', 'onAttemptEnd', 'random'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new ValidationError(hook, `expected a function, got ${typeof options[hook]}`);
    }
  }
  return {
    service,
    maxAttempts,
    backoff,
    retryOn,
    timeoutMs: options.timeoutMs,
    deadlineMs: options.deadlineMs,
    circuitBreaker:
      options.circuitBreaker === false
        ? undefined
        : resolveBreakerOptions(options.circuitBreaker, 'circuitBreaker'),
    serviceBreaker:
      options.serviceBreaker === undefined || options.serviceBreaker === false
        ? undefined
        : resolveBreakerOptions(options.serviceBreaker, 'serviceBreaker'),
    bulkhead,
    retryBudget: options.retryBudget === false ? undefined : (options.retryBudget ?? {}),
    classify: options.classify ?? classifyError,
    onAttemptEnd: options.onAttemptEnd,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  };
}

function integerAtLeast(value: unknown, min: number, field: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ValidationError(field, `expected an integer ≥ ${min}, got ${String(value)}`);
  }
}

// setTimeout fires at once beyond 2^31 - 1 ms: a longer timeout would silently become 1 ms.
export const MAX_TIMER_MS = 2_147_483_647;

function finiteAtLeast(value: unknown, min: number, field: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new ValidationError(
      field,
      `expected a number from ${min} to ${MAX_TIMER_MS} ms, got ${String(value)}`,
    );
  }
}

/** The ValidationError a call's arguments deserve, or undefined when they are fine. */
export function checkCall<T>(
  source: InstanceSource,
  fn: unknown,
  options?: ExecuteOptions<T>,
): ValidationError | undefined {
  if (typeof fn !== 'function') return new ValidationError('fn', `expected a function, got ${typeof fn}`);
  if (typeof source?.pick !== 'function') {
    return new ValidationError('source', 'expected an InstanceSource with pick() and load');
  }
  const succeeded = options?.succeeded;
  if (succeeded !== undefined && typeof succeeded !== 'function') {
    return new ValidationError('succeeded', `expected a function, got ${describeValue(succeeded)}`);
  }
  const hedge = options?.hedgeAfterMs;
  if (hedge !== undefined && !(typeof hedge === 'number' && hedge >= 0 && hedge <= MAX_TIMER_MS)) {
    return new ValidationError(
      'hedgeAfterMs',
      `expected a number from 0 to ${MAX_TIMER_MS} ms, got ${hedge}`,
    );
  }
  return undefined;
}
