import { isAbortError, type ServiceInstance } from '@switchyard/core';
import { AttemptScope, type CallScope, type ScopeHooks } from './call-scope.ts';
import type { FailureClass } from './classify-error.ts';
import { countsAgainstInstance } from './counts-against-instance.ts';
import type { ExecutorCounters } from './executor-stats.ts';
import type { AttemptContext, ExecutorOptions, InstanceSource } from './executor-types.ts';
import type { AttemptVerdict, BreakerEntry, InstanceBreakers } from './instance-breakers.ts';
import type { TimerQueue } from './timer-queue.ts';

const never = () => false;

/**
 * Runs single attempts for an executor: picks the instance, wraps the user's function in the
 * instance's breaker and the attempt's abort race, and keeps load stats and counters right
 * whatever happens.
 */
export class AttemptRunner {
  readonly #counters: ExecutorCounters;
  readonly #breakers: InstanceBreakers | undefined;
  readonly #timeouts: TimerQueue | undefined;
  readonly #hooks: ScopeHooks;
  readonly #onAttemptEnd: ExecutorOptions['onAttemptEnd'];
  readonly #classify: (error: unknown) => FailureClass;
  /** Excludes instances whose breaker is open: shared, so a first pick allocates nothing. */
  readonly excludeOpen: (instance: ServiceInstance) => boolean;

  constructor(
    counters: ExecutorCounters,
    breakers: InstanceBreakers | undefined,
    timeouts: TimerQueue | undefined,
    hooks: ScopeHooks,
    onAttemptEnd: ExecutorOptions['onAttemptEnd'],
    classify: (error: unknown) => FailureClass,
  ) {
    this.#classify = classify;
    this.#counters = counters;
    this.#breakers = breakers;
    this.#timeouts = timeouts;
    this.#hooks = hooks;
    this.#onAttemptEnd = onAttemptEnd;
    this.excludeOpen = breakers ? (instance) => breakers.isOpen(instance.id) : never;
  }

  /**
   * An instance not tried yet in this call and not behind an open breaker; when every
   * instance was tried, one already tried (a retry on the same instance beats no retry).
   */
  pick(source: InstanceSource, tried: readonly string[] | undefined): ServiceInstance | undefined {
    if (tried === undefined || tried.length === 0) return source.pick(this.excludeOpen);
    return this.pickFresh(source, tried) ?? source.pick(this.excludeOpen);
  }

  /** An instance not tried yet in this call and not behind an open breaker, or undefined. */
  pickFresh(source: InstanceSource, tried: readonly string[] | undefined): ServiceInstance | undefined {
    if (tried === undefined || tried.length === 0) return source.pick(this.excludeOpen);
    return source.pick((instance) => tried.includes(instance.id) || this.excludeOpen(instance));
  }

  /** The abortable context of one attempt, with its timeout armed. */
  scope(instance: ServiceInstance, attempt: number, call: CallScope): AttemptScope {
    const scope = new AttemptScope(attempt, instance.id, call, this.#hooks);
    if (this.#timeouts) scope.timer = this.#timeouts.add(scope);
    return scope;
  }

  /** Runs one attempt; `start` lets the caller share the timestamp it already took. */
  async run<T>(
    source: InstanceSource,
    instance: ServiceInstance,
    fn: (instance: ServiceInstance, ctx: AttemptContext) => Promise<T>,
    ctx: AttemptContext,
    scope: AttemptScope | undefined,
    start: number = this.#hooks.clock.now(),
  ): Promise<T> {
    this.#counters.attempts++;
    const breakers = this.#breakers;
    let probe: BreakerEntry | undefined;
    if (breakers !== undefined) {
      try {
        probe = breakers.admit(instance.id, ctx.attempt);
      } catch (refused) {
        // Open breaker: nothing was sent, so no load stats, no verdict.
        this.#counters.attemptFailures++;
        scope?.end();
        throw refused;
      }
    }
    const load = source.load.of(instance);
    load.onStart();
    let ok = false;
    let error: unknown;
    try {
      const value = await this.#invoke(instance, fn, ctx, scope);
      ok = true;
      return value;
    } catch (caught) {
      error = caught;
      if (scope?.superseded !== true) this.#counters.attemptFailures++;
      throw caught;
    } finally {
      // Aborted from outside (caller, deadline, close, a winning hedge): no verdict on the instance.
      const cancelled = scope?.cancelled === true;
      scope?.end();
      const now = this.#hooks.clock.now();
      const latencyMs = now - start;
      // A hedge's loser was cancelled, not failed: it must not count against its instance.
      const superseded = scope?.superseded === true;
      if (breakers !== undefined) {
        breakers.record(instance.id, ctx.attempt, probe, ok ? 'success' : this.#verdict(error, cancelled));
      }
      load.onEnd(now, latencyMs, ok || superseded);
      if (this.#onAttemptEnd !== undefined && !superseded) this.#report(instance, ok, error, latencyMs);
    }
  }

  #verdict(error: unknown, cancelled: boolean): AttemptVerdict {
    if (cancelled || isAbortError(error)) return 'cancelled';
    return countsAgainstInstance(error, false, this.#classify) ? 'failure' : 'answered';
  }

  #invoke<T>(
    instance: ServiceInstance,
    fn: (instance: ServiceInstance, ctx: AttemptContext) => Promise<T>,
    ctx: AttemptContext,
    scope: AttemptScope | undefined,
  ): Promise<T> {
    return scope === undefined ? fn(instance, ctx) : scope.race(fn(instance, scope));
  }

  #report(instance: ServiceInstance, ok: boolean, error: unknown, latencyMs: number): void {
    try {
      this.#onAttemptEnd?.(instance, ok ? { ok, latencyMs } : { ok, error, latencyMs });
    } catch (hookError) {
      // A broken hook must not change the call's outcome; surface it like an emitter would.
      queueMicrotask(() => {
        throw hookError;
      });
    }
  }
}
