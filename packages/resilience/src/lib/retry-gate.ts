import { NotRetriedError, RetryBudgetExceededError, type TypedEmitter } from '@switchyard/core';
import { type BackoffSequence, createBackoff } from './backoff.ts';
import type { ResolvedExecutorOptions } from './executor-options.ts';
import type { ExecutorCounters } from './executor-stats.ts';
import type { ExecutorEvents } from './executor-types.ts';
import type { RetryBudget } from './retry-budget.ts';

/** The failed attempt a RetryGate judges. */
export interface FailedAttempt {
  readonly error: unknown;
  readonly attempt: number;
  readonly instanceId: string | undefined;
  readonly idempotent: boolean;
}

/**
 * Decides, after a failed attempt, whether the call may try again and after how long, in the
 * order that keeps "nothing lost" true: classification (or `retryOn`), attempts left, the
 * idempotency rule, then the retry budget. Throws the call's give-up error otherwise.
 * The first failover after a never-reached failure is immediate; other retries back off.
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

  /** The delay before the next attempt, in ms; throws when the call must give up. */
  next(failed: FailedAttempt, backoff: BackoffSequence): number {
    const o = this.#o;
    const { error, attempt, instanceId } = failed;
    const cls = o.classify(error);
    const retryable = o.retryOn?.(error, attempt) ?? cls.retryable;
    if (!retryable || attempt >= o.maxAttempts) throw error;
    if (cls.reachedInstance && !failed.idempotent) {
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
    // A first failure that never left for its instance (refused, no route) fails over at once,
    // as gRPC's transparent retry does: there is nothing to back off from. Later ones back off.
    let delayMs = !cls.reachedInstance && attempt === 1 ? 0 : backoff.next();
    // A server's Retry-After wins over our backoff, up to the backoff cap.
    if (cls.retryAfterMs !== undefined)
      delayMs = Math.max(delayMs, Math.min(cls.retryAfterMs, o.backoff.maxMs));
    this.#counters.retries++;
    if (this.#events.hasListeners('retry')) {
      this.#events.emit('retry', { service: o.service, instanceId, attempt, error, delayMs });
    }
    return delayMs;
  }
}
