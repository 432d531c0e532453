import {
  AllAttemptsFailedError,
  CircuitOpenError,
  type FailedAttempt,
  NoAvailableInstanceError,
  NotRetriedError,
  RetryBudgetExceededError,
  type TypedEmitter,
} from '@switchyard/core';
import { type BackoffSequence, createBackoff } from './backoff.ts';
import type { FailureClass } from './classify-error.ts';
import type { ResolvedExecutorOptions } from './executor-options.ts';
import type { ExecutorCounters } from './executor-stats.ts';
import type { ExecutorEvents } from './executor-types.ts';
import type { RetryBudget } from './retry-budget.ts';

/**
 * Decides, after a failed attempt, whether the call may try again and after how long, in the
 * order that keeps "nothing lost" true: classification (or `retryOn`), attempts left, the
 * idempotency rule, then the retry budget. Throws the call's give-up error otherwise: the error
 * itself when it is final (an application error stays the user's own), AllAttemptsFailedError
 * when the attempts ran out, NotRetriedError, RetryBudgetExceededError.
 * A failover to an instance not tried yet is immediate; other retries back off.
 */
export class RetryGate {
  readonly #o: ResolvedExecutorOptions;
  readonly #counters: ExecutorCounters;
  readonly #budget: RetryBudget | undefined;
  readonly #events: TypedEmitter<ExecutorEvents>;

  constructor(
    o: ResolvedExecutorOptions,
    counters: ExecutorCounters,
    budget: RetryBudget | undefined,
    events: TypedEmitter<ExecutorEvents>,
  ) {
    this.#o = o;
    this.#counters = counters;
    this.#budget = budget;
    this.#events = events;
  }

  /** A fresh backoff sequence for one call. */
  backoff(): BackoffSequence {
    return createBackoff(this.#o.backoff, this.#o.random);
  }

  /**
   * Whether the call may try again after its last failure: returns the failure's class, or
   * throws the give-up error. Takes the retry from the budget.
   */
  admit(failures: readonly FailedAttempt[], attempt: number, idempotent: boolean): FailureClass {
    const o = this.#o;
    // The last failure; `attempt` is the call's attempt count (a hedged round's last may be lower).
    const { error, instanceId } = failures[failures.length - 1]!;
    const cls = o.classify(error);
    const retryable = o.retryOn?.(error, attempt) ?? cls.retryable;
    if (!retryable) throw error;
    if (attempt >= o.maxAttempts) throw this.#exhausted(failures);
    if (cls.reachedInstance && !idempotent) {
      this.#counters.notRetried++;
      throw new NotRetriedError(
        o.service,
        `the request may have reached instance ${instanceId ?? '(unknown)'} and the call is not idempotent`,
        { instanceId, cause: error },
      );
    }
    if (this.#budget && !this.#budget.tryWithdraw()) {
      this.#counters.budgetExhausted++;
      if (this.#events.hasListeners('budgetExhausted')) {
        this.#events.emit('budgetExhausted', { service: o.service, instanceId, attempt, error });
      }
      throw new RetryBudgetExceededError(o.service, { instanceId, cause: error });
    }
    return cls;
  }

  /**
   * The delay before attempt `attempt + 1`, in ms. A failover to a different instance goes at
   * once, as a proxy's redispatch does: there is nothing to back off from. Retrying an instance
   * already tried, or a service-wide overload (the caller passes `failover: false`), backs off;
   * a server's `Retry-After` then wins over the backoff, up to the backoff cap.
   */
  delay(
    failures: readonly FailedAttempt[],
    attempt: number,
    cls: FailureClass,
    failover: boolean,
    backoff: BackoffSequence,
  ): number {
    const o = this.#o;
    let delayMs = 0;
    if (!failover) {
      delayMs = backoff.next();
      if (cls.retryAfterMs !== undefined)
        delayMs = Math.max(delayMs, Math.min(cls.retryAfterMs, o.backoff.maxMs));
    }
    this.#counters.retries++;
    if (this.#events.hasListeners('retry')) {
      const { error, instanceId } = failures[failures.length - 1]!;
      this.#events.emit('retry', { service: o.service, instanceId, attempt, error, delayMs });
    }
    return delayMs;
  }

  /** Every attempt failed. When none could even be sent (no instance, breakers open), that is the answer. */
  #exhausted(failures: readonly FailedAttempt[]): unknown {
    const last = failures[failures.length - 1]!.error;
    const nothingSent = failures.every(
      (f) => f.error instanceof NoAvailableInstanceError || f.error instanceof CircuitOpenError,
    );
    return nothingSent ? last : new AllAttemptsFailedError(this.#o.service, failures);
  }
}
