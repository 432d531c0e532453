export {
  type BackoffOptions,
  type BackoffSequence,
  createBackoff,
  DEFAULT_BACKOFF,
  type JitterMode,
  jitterMode,
  type ResolvedBackoff,
} from './lib/backoff.ts';
export {
  type CircuitBreakerOptions,
  createBreaker,
  createBreakerPolicy,
  type ResolvedBreakerOptions,
  resolveBreakerOptions,
} from './lib/breaker-policy.ts';
export {
  classifyError,
  type FailureClass,
  MAYBE_REACHED_CODES,
  NEVER_REACHED_CODES,
  parseRetryAfter,
  RETRYABLE_STATUSES,
} from './lib/classify-error.ts';
export { countsAgainstInstance } from './lib/counts-against-instance.ts';
export { assertDispatchedCall, createExecutor, toAttemptFn } from './lib/executor.ts';
export { type ResolvedExecutorOptions, resolveExecutorOptions } from './lib/executor-options.ts';
export type {
  AbortListener,
  AttemptAbortTarget,
  AttemptContext,
  AttemptOutcome,
  BulkheadOptions,
  DispatchedAttempt,
  DispatchedCall,
  ExecuteOptions,
  Executor,
  ExecutorEvent,
  ExecutorEvents,
  ExecutorOptions,
  ExecutorStats,
  InstanceSource,
  RetryOptions,
} from './lib/executor-types.ts';
export { IDEMPOTENT_METHODS, isIdempotentMethod } from './lib/idempotency.ts';
export {
  type AttemptVerdict,
  type BreakerEntry,
  type BreakerListener,
  InstanceBreakers,
} from './lib/instance-breakers.ts';
export { RetryBudget, type RetryBudgetOptions } from './lib/retry-budget.ts';
export { type TimerEntry, TimerQueue, type TimerTarget } from './lib/timer-queue.ts';
