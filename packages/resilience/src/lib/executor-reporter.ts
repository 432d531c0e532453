import { type Clock, type ServiceInstance, TimeoutError, TypedEmitter } from '@switchyard/core';
import type { AttemptScope, ScopeHooks } from './call-scope.ts';
import { ExecutorCounters } from './executor-stats.ts';
import type { ExecutorEvents } from './executor-types.ts';
import type { BreakerListener } from './instance-breakers.ts';
import type { RetryBudget } from './retry-budget.ts';

/**
 * Where an executor's parts report what happened: it keeps the counters and emits the events
 * (built only when someone listens), and names the errors timers end calls with.
 */
export class ExecutorReporter implements ScopeHooks, BreakerListener {
  readonly events = new TypedEmitter<ExecutorEvents>();
  readonly counters = new ExecutorCounters();
  readonly clock: Clock;
  readonly #service: string;
  readonly #timeoutMs: number;
  readonly #deadlineMs: number;
  readonly #budget: RetryBudget | undefined;

  constructor(
    service: string,
    clock: Clock,
    limits: { readonly timeoutMs?: number | undefined; readonly deadlineMs?: number | undefined },
    budget: RetryBudget | undefined,
  ) {
    this.#service = service;
    this.clock = clock;
    this.#timeoutMs = limits.timeoutMs ?? 0;
    this.#deadlineMs = limits.deadlineMs ?? 0;
    this.#budget = budget;
  }

  callTimedOut(): unknown {
    return this.#timedOut('call', this.#deadlineMs, undefined, 0);
  }

  attemptTimedOut(scope: AttemptScope): unknown {
    return this.#timedOut('attempt', this.#timeoutMs, scope.instanceId, scope.attempt);
  }

  onBreakerChange(change: 'open' | 'halfOpen' | 'close', instanceId: string, attempt: number): void {
    const event =
      change === 'open' ? 'breakerOpen' : change === 'halfOpen' ? 'breakerHalfOpen' : 'breakerClose';
    if (this.events.hasListeners(event))
      this.events.emit(event, { service: this.#service, instanceId, attempt });
  }

  /** The bulkhead or the service breaker turned a call away before it started. */
  readonly rejected = (kind: 'bulkhead' | 'breaker' | 'aborted'): void => {
    this.counters.failures++;
    if (kind !== 'bulkhead') return;
    this.counters.rejections++;
    if (this.events.hasListeners('bulkheadRejected')) {
      this.events.emit('bulkheadRejected', { service: this.#service, attempt: 0 });
    }
  };

  /** A hedge is a retry in advance: it needs budget like one. False = do not hedge. */
  readonly hedge = (instance: ServiceInstance, attempt: number): boolean => {
    if (this.#budget && !this.#budget.tryWithdraw()) return false;
    this.counters.hedges++;
    if (this.events.hasListeners('hedge')) {
      this.events.emit('hedge', { service: this.#service, instanceId: instance.id, attempt });
    }
    return true;
  };

  gaveUp(instanceId: string | undefined, attempt: number, error: unknown): void {
    this.counters.failures++;
    if (this.events.hasListeners('giveUp')) {
      this.events.emit('giveUp', { service: this.#service, instanceId, attempt, error });
    }
  }

  #timedOut(scope: 'attempt' | 'call', timeoutMs: number, instanceId: string | undefined, attempt: number) {
    this.counters.timeouts++;
    const service = this.#service;
    if (this.events.hasListeners('timeout')) {
      this.events.emit('timeout', { service, instanceId, attempt, scope, timeoutMs });
    }
    return new TimeoutError(service, timeoutMs, scope, { instanceId });
  }
}
