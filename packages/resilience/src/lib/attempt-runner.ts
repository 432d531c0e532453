import { isAbortError, type ServiceInstance } from '@switchyard/core';
import { AttemptScope, type CallScope, type ScopeHooks } from './call-scope.ts';
import type { FailureClass } from './classify-error.ts';
import { countsAgainstInstance } from './counts-against-instance.ts';
import type { ExecutorCounters } from './executor-stats.ts';
import type { AttemptContext, AttemptOutcome, ExecutorOptions, InstanceSource } from './executor-types.ts';
import type { AttemptVerdict, InstanceBreakers } from './instance-breakers.ts';
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
  scope(instance: ServiceInstance, attempt: number, call: CallScope, now?: number): AttemptScope {
    const scope = new AttemptScope(attempt, instance.id, call, this.#hooks);
    if (this.#timeouts) scope.timer = this.#timeouts.add(scope, now ?? this.#hooks.clock.now());
    return scope;
  }

  /**
   * Runs one attempt; `start` lets the caller share the timestamp it already took. `succeeded`
   * judges a resolved value for the attempt-end hook (outlier detection): breakers and load
   * stats count every resolved attempt as a success.
   */
  async run<T>(
    source: InstanceSource,
    instance: ServiceInstance,
    fn: (instance: ServiceInstance, ctx: AttemptContext) => Promise<T>,
    scope: AttemptScope,
    start: number = this.#hooks.clock.now(),
    succeeded?: (value: T) => boolean,
  ): Promise<T> {
    let value: T;
    try {
      this.begin(source, instance, scope, start);
      value = await scope.race(fn(instance, scope));
    } catch (error) {
      this.failed(instance, scope, error);
      throw error;
    }
    this.succeeded(instance, scope, value, succeeded);
    return value;
  }

  /**
   * Starts an attempt: the breaker admits it (or throws CircuitOpenError, and nothing was sent)
   * and it counts as in flight on its instance until `succeeded` or `failed` ends it.
   */
  begin(source: InstanceSource, instance: ServiceInstance, scope: AttemptScope, start: number): void {
    this.#counters.attempts++;
    if (this.#breakers !== undefined) scope.probe = this.#breakers.admit(instance.id, scope.attempt);
    const load = source.load.of(instance);
    load.onStart();
    scope.load = load;
    scope.startedAt = start;
  }

  /** Ends an attempt that resolved with `value`. */
  succeeded<T>(
    instance: ServiceInstance,
    scope: AttemptScope,
    value: T,
    succeeded: ((value: T) => boolean) | undefined,
  ): void {
    this.#end(instance, scope, true, value, succeeded);
  }

  /** Ends an attempt that threw or rejected (or that its breaker refused in `begin`). */
  failed(instance: ServiceInstance, scope: AttemptScope, error: unknown): void {
    if (!scope.superseded) this.#counters.attemptFailures++;
    this.#end(instance, scope, false, error, undefined);
  }

  #end<T>(
    instance: ServiceInstance,
    scope: AttemptScope,
    ok: boolean,
    valueOrError: unknown,
    succeeded: ((value: T) => boolean) | undefined,
  ): void {
    // Aborted from outside (caller, deadline, close, a winning hedge): no verdict on the instance.
    const cancelled = scope.cancelled;
    scope.end();
    const load = scope.load;
    // Refused by its breaker: nothing was sent, so no load stats, no verdict.
    if (load === undefined) return;
    scope.load = undefined;
    const now = this.#hooks.clock.now();
    const latencyMs = now - scope.startedAt;
    // A hedge's loser was cancelled, not failed: it must not count against its instance.
    const superseded = scope.superseded;
    const verdict: AttemptVerdict = ok ? 'success' : this.#verdict(valueOrError, cancelled);
    if (this.#breakers !== undefined) this.#breakers.record(instance.id, scope.attempt, scope.probe, verdict);
    load.onEnd(now, latencyMs, ok || superseded);
    if (this.#onAttemptEnd !== undefined && !superseded) {
      this.#report(instance, ok, valueOrError, verdict, latencyMs, succeeded);
    }
  }

  #verdict(error: unknown, cancelled: boolean): AttemptVerdict {
    if (cancelled || isAbortError(error)) return 'cancelled';
    return countsAgainstInstance(error, false, this.#classify) ? 'failure' : 'answered';
  }

  #report<T>(
    instance: ServiceInstance,
    ok: boolean,
    valueOrError: unknown,
    verdict: AttemptVerdict,
    latencyMs: number,
    succeeded: ((value: T) => boolean) | undefined,
  ): void {
    try {
      let outcome: AttemptOutcome;
      if (!ok) {
        outcome = { ok, error: valueOrError, latencyMs, countsAgainstInstance: verdict === 'failure' };
      } else if (succeeded === undefined || succeeded(valueOrError as T)) {
        outcome = { ok, latencyMs, countsAgainstInstance: false };
      } else {
        outcome = { ok: false, latencyMs, countsAgainstInstance: true };
      }
      this.#onAttemptEnd?.(instance, outcome);
    } catch (hookError) {
      // A broken hook (or `succeeded` judge) must not change the call's outcome; surface it like an
      // emitter would.
      queueMicrotask(() => {
        throw hookError;
      });
    }
  }
}
