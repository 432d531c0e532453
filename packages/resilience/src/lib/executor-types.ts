import type { Clock, LoadStats, ServiceInstance, TypedEmitter } from '@switchyard/core';
import type { BackoffOptions } from './backoff.ts';
import type { CircuitBreakerOptions } from './breaker-policy.ts';
import type { FailureClass } from './classify-error.ts';
import type { RetryBudgetOptions } from './retry-budget.ts';

/**
 * The attempt's aborts without an AbortController behind them: what undici's `signal` option
 * accepts (`aborted`, `reason`, `addEventListener('abort')`, `removeEventListener`).
 */
export interface AttemptAbortTarget {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: AbortListener, options?: { readonly once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/** A function, or an object with `handleEvent` (as EventTarget takes): no closure per listener. */
export type AbortListener = (() => void) | { handleEvent(): void };

/** What the user's function gets with each attempt. */
export interface AttemptContext {
  /**
   * Aborts on attempt timeout, call deadline, caller abort, or when a hedge won. Created on
   * first read: a function that never reads it costs no AbortController.
   */
  readonly signal: AbortSignal;
  /** 1-based. */
  readonly attempt: number;
  /**
   * The same aborts as `signal`, as a plain listener slot (no AbortController, no EventTarget):
   * hand it to undici's `signal` option on a hot path. A function that adds a listener here
   * must settle its promise promptly once the listener fires (undici rejects the request): on a
   * retry or a hedge the executor then trusts it instead of racing it against the abort (a first
   * attempt ends at once). The executor always sets it (close() aborts every attempt); a context
   * made by other code may leave it out.
   */
  readonly abortTarget?: AttemptAbortTarget;
}

/** One attempt of a dispatched call: its context, and how it ends. */
export interface DispatchedAttempt<T> extends AttemptContext {
  /** The attempt succeeded with `value`. Only the first `resolve` or `reject` counts. */
  resolve(value: T): void;
  /** The attempt failed with `error`. Only the first `resolve` or `reject` counts. */
  reject(error: unknown): void;
}

/**
 * A call in callback form (`Executor.dispatch`), for code that already lives in callbacks,
 * such as an undici dispatch handler: no promise per call nor per attempt.
 */
export interface DispatchedCall<T> {
  /**
   * Starts one attempt on `instance`. It ends with `attempt.resolve` or `attempt.reject`, at
   * once or later; an attempt that aborts (timeout, deadline, caller, close) ends rejected with
   * the abort's reason if it has not ended yet. Throwing counts as `reject`. `headers`: headers
   * to add to an HTTP request (trace context), when a diagnostics subscriber gives some.
   */
  attempt(instance: ServiceInstance, attempt: DispatchedAttempt<T>, headers?: Record<string, string>): void;
  /** The call succeeded. Exactly one of `resolve` and `reject` is called, possibly before `dispatch` returns. */
  resolve(value: T): void;
  /** The call failed, after its retries. */
  reject(error: unknown): void;
}

/** How one attempt ended, for `ExecutorOptions.onAttemptEnd`. */
export interface AttemptOutcome {
  /** The attempt resolved and, when the call gave `succeeded`, its value passed it. */
  readonly ok: boolean;
  /** Why the attempt rejected (absent when it resolved with a value `succeeded` refused). */
  readonly error?: unknown;
  readonly latencyMs: number;
  /**
   * Whether the outcome speaks against the instance (`countsAgainstInstance`): a refused value,
   * or an error such as a reset or an attempt timeout; not a 4xx, a caller's abort or a deadline.
   */
  readonly countsAgainstInstance: boolean;
}

/** Per-call options. */
export interface ExecuteOptions<T = unknown> {
  /** Safe to send twice (GET, PUT…). Default false: reached-maybe failures are not retried. */
  readonly idempotent?: boolean;
  /** The caller's signal: aborts everything at once, rejects with its reason, no retry. */
  readonly signal?: AbortSignal;
  /** Start a second attempt on another instance after this long (idempotent calls only). */
  readonly hedgeAfterMs?: number;
  /**
   * Judges a resolved value for `onAttemptEnd` (e.g. an HTTP 5xx answer is not a success for
   * outlier detection). Default: every resolved value is. Breakers and retries are unaffected.
   */
  readonly succeeded?: (value: T) => boolean;
}

/** Supplied by the client for each service: where attempts get their instance. */
export interface InstanceSource {
  /** Pick an instance not rejected by `excluded` (tried in this call, breaker open…); undefined = none. */
  pick(excluded: (instance: ServiceInstance) => boolean): ServiceInstance | undefined;
  /** The executor calls `load.of(i).onStart()` / `onEnd(now, ms, ok)` around each attempt. */
  readonly load: LoadStats;
}

export interface RetryOptions {
  /** Attempts per call, the first included. Default 3. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffOptions;
  /** Overrides the classification's `retryable` when it returns a boolean. */
  readonly retryOn?: (error: unknown, attempt: number) => boolean | undefined;
}

export interface BulkheadOptions {
  /** Calls running at once. */
  readonly maxConcurrent: number;
  /** Calls waiting for a slot; beyond it calls are rejected. Default 0. */
  readonly maxQueue?: number;
}

export interface ExecutorOptions {
  readonly service: string;
  /** `false` = one attempt only. */
  readonly retry?: RetryOptions | false;
  /** Per attempt, ms. */
  readonly timeoutMs?: number;
  /** Whole call including backoff, ms. */
  readonly deadlineMs?: number;
  /** Per-instance breakers; default on (5 consecutive failures, half-open after 10 s). */
  readonly circuitBreaker?: false | CircuitBreakerOptions;
  /** One breaker for the whole service, counting calls that failed after their retries. Default off. */
  readonly serviceBreaker?: false | CircuitBreakerOptions;
  readonly bulkhead?: BulkheadOptions;
  /** Default on: ratio 0.2, 10 retries/s floor, 10 s window. */
  readonly retryBudget?: false | RetryBudgetOptions;
  /** Replaces the default classification (`classifyError`). */
  readonly classify?: (error: unknown) => FailureClass;
  /** Told about every attempt's outcome (the outlier detector's hook); a hedge's loser is left out. */
  readonly onAttemptEnd?: (instance: ServiceInstance, outcome: AttemptOutcome) => void;
  readonly clock?: Clock;
  /** Source of jitter, [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/** Where and when something happened. */
export interface ExecutorEvent {
  readonly service: string;
  readonly instanceId?: string;
  readonly attempt: number;
}

export type ExecutorEvents = {
  retry: ExecutorEvent & { readonly error: unknown; readonly delayMs: number };
  giveUp: ExecutorEvent & { readonly error: unknown };
  hedge: ExecutorEvent;
  breakerOpen: ExecutorEvent;
  breakerHalfOpen: ExecutorEvent;
  breakerClose: ExecutorEvent;
  timeout: ExecutorEvent & { readonly scope: 'attempt' | 'call'; readonly timeoutMs: number };
  bulkheadRejected: ExecutorEvent;
  budgetExhausted: ExecutorEvent & { readonly error: unknown };
};

/** Counters since the executor was created. */
export interface ExecutorStats {
  readonly calls: number;
  readonly successes: number;
  /** Calls that rejected, for any reason. */
  readonly failures: number;
  readonly attempts: number;
  readonly attemptFailures: number;
  readonly retries: number;
  readonly hedges: number;
  /** Attempt timeouts and call deadlines. */
  readonly timeouts: number;
  /** Calls turned away by the bulkhead. */
  readonly rejections: number;
  readonly budgetExhausted: number;
  /** Failures not retried because the request may have reached the instance. */
  readonly notRetried: number;
  /** Per-instance breakers open or half-open now. */
  readonly breakersOpen: number;
}

export interface Executor {
  execute<T>(
    source: InstanceSource,
    fn: (instance: ServiceInstance, ctx: AttemptContext) => Promise<T>,
    options?: ExecuteOptions<T>,
  ): Promise<T>;
  /**
   * `execute` in callback form: the same picks, retries, breakers, timeouts and budget, with the
   * outcome told to `call.resolve` / `call.reject` instead of a promise.
   */
  dispatch<T>(source: InstanceSource, call: DispatchedCall<T>, options?: ExecuteOptions<T>): void;
  readonly events: TypedEmitter<ExecutorEvents>;
  /** Whether the instance's breaker keeps it out of picks now. */
  isOpen(instanceId: string): boolean;
  /** Forgets the breakers (open ones too) of instances not in `instanceIds` (call on snapshot change). */
  retain(instanceIds: ReadonlySet<string>): void;
  stats(): ExecutorStats;
  /** Calls accepted and not settled yet (queued in the bulkhead or running). */
  readonly activeCalls: number;
  /** Resolves once no call is in flight (at once if none is). */
  idle(): Promise<void>;
  /**
   * Aborts every call in flight (their attempts' signals fire with `reason`, and the calls
   * reject with it), clears timers and breakers; later calls reject with `reason` too.
   * Default reason: a `SwitchyardError` saying the executor is closed.
   */
  close(reason?: unknown): void;
}
