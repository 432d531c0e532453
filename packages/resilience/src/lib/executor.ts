import {
  AllAttemptsFailedError,
  abortReason,
  type Clock,
  type FailedAttempt,
  NoAvailableInstanceError,
  NotRetriedError,
  RetryBudgetExceededError,
  type ServiceInstance,
  SwitchyardError,
  type TypedEmitter,
  ValidationError,
} from '@switchyard/core';
import { type BulkheadPolicy, bulkhead, type CircuitBreakerPolicy } from 'cockatiel';
import { ActiveCalls } from './active-calls.ts';
import { AttemptRunner } from './attempt-runner.ts';
import type { BackoffSequence } from './backoff.ts';
import { createBreakerPolicy } from './breaker-policy.ts';
import { type AttemptScope, type AttemptSettler, CallScope } from './call-scope.ts';
import { countsAgainstInstance } from './counts-against-instance.ts';
import { checkCall, type ResolvedExecutorOptions, resolveExecutorOptions } from './executor-options.ts';
import { ExecutorReporter } from './executor-reporter.ts';
import type { ExecutorCounters } from './executor-stats.ts';
import type {
  AttemptAbortTarget,
  AttemptContext,
  DispatchedAttempt,
  DispatchedCall,
  ExecuteOptions,
  Executor,
  ExecutorEvents,
  ExecutorOptions,
  ExecutorStats,
  InstanceSource,
} from './executor-types.ts';
import { guardCall } from './guard-call.ts';
import { runHedged } from './hedge.ts';
import { InstanceBreakers } from './instance-breakers.ts';
import { RetryBudget } from './retry-budget.ts';
import { RetryGate } from './retry-gate.ts';
import { TimerQueue } from './timer-queue.ts';

type UserFn<T> = (instance: ServiceInstance, ctx: AttemptContext) => Promise<T>;

/**
 * Creates the executor of one service: retry with backoff and failover to other instances,
 * per-instance circuit breakers, attempt timeouts and a call deadline, bulkhead, retry budget
 * and optional hedging, on cockatiel's breaker, bulkhead and backoff.
 *
 * @example
 * const executor = createExecutor({ service: 'users', timeoutMs: 2_000 });
 * const user = await executor.execute(source, (instance, { signal }) =>
 *   request(`${originOf(instance)}/users/42`, { signal }), { idempotent: true });
 */
export function createExecutor(options: ExecutorOptions): Executor {
  return new ResilientExecutor(resolveExecutorOptions(options));
}

class ResilientExecutor implements Executor {
  readonly events: TypedEmitter<ExecutorEvents>;
  readonly clock: Clock;
  readonly #o: ResolvedExecutorOptions;
  readonly #report: ExecutorReporter;
  readonly #counters: ExecutorCounters;
  readonly #breakers: InstanceBreakers | undefined;
  readonly #serviceBreaker: CircuitBreakerPolicy | undefined;
  readonly #bulkhead: BulkheadPolicy | undefined;
  readonly #budget: RetryBudget | undefined;
  readonly #attemptTimeouts: TimerQueue | undefined;
  readonly #deadlines: TimerQueue | undefined;
  /** Calls in flight (running, sleeping or queued for a retry): close() aborts them. */
  readonly #active = new ActiveCalls();
  readonly #runner: AttemptRunner;
  readonly #gate: RetryGate;
  /** Calls accepted and not settled yet, queued in the bulkhead or running. */
  #calls = 0;
  #idleWaiters: Array<() => void> | undefined;
  #closed = false;
  #closeReason: unknown;

  constructor(o: ResolvedExecutorOptions) {
    this.#o = o;
    this.clock = o.clock;
    this.#budget = o.retryBudget && new RetryBudget(o.retryBudget, o.clock);
    this.#report = new ExecutorReporter(o.service, o.clock, o, this.#budget);
    this.#counters = this.#report.counters;
    this.events = this.#report.events;
    const isFailure = (error: unknown) => countsAgainstInstance(error, false, o.classify);
    const breakers =
      o.circuitBreaker && new InstanceBreakers(o.service, o.circuitBreaker, isFailure, this.#report);
    this.#breakers = breakers;
    this.#serviceBreaker =
      o.serviceBreaker && createBreakerPolicy(o.serviceBreaker, (error) => isFailure(causeOf(error)));
    this.#bulkhead = o.bulkhead && bulkhead(o.bulkhead.maxConcurrent, o.bulkhead.maxQueue);
    this.#attemptTimeouts = o.timeoutMs === undefined ? undefined : new TimerQueue(o.clock, o.timeoutMs);
    this.#deadlines = o.deadlineMs === undefined ? undefined : new TimerQueue(o.clock, o.deadlineMs);
    this.#gate = new RetryGate(o, this.#counters, this.#budget, this.events);
    this.#runner = new AttemptRunner(
      this.#counters,
      breakers,
      this.#attemptTimeouts,
      this.#report,
      o.onAttemptEnd,
      o.classify,
    );
  }

  execute<T>(source: InstanceSource, fn: UserFn<T>, options?: ExecuteOptions<T>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closeReason);
    const bad = checkCall(source, fn, options);
    if (bad !== undefined) return Promise.reject(bad);
    this.#counters.calls++;
    this.#calls++;
    if (this.#bulkhead === undefined && this.#serviceBreaker === undefined) {
      return new Promise<T>((resolve, reject) => {
        this.#run(source, new PromisedCall(fn, resolve, reject), options, true);
      });
    }
    return this.#guarded(source, (resolve, reject) => new PromisedCall(fn, resolve, reject), options);
  }

  dispatch<T>(source: InstanceSource, call: DispatchedCall<T>, options?: ExecuteOptions<T>): void {
    assertDispatchedCall(call);
    const refused = this.#closed ? this.#closeReason : checkCall(source, call.attempt, options);
    if (refused !== undefined) {
      call.reject(refused);
      return;
    }
    this.#counters.calls++;
    this.#calls++;
    if (this.#bulkhead === undefined && this.#serviceBreaker === undefined) {
      this.#run(source, call, options, true);
      return;
    }
    const relayed = (resolve: (value: T) => void, reject: (error: unknown) => void): DispatchedCall<T> => ({
      attempt: (instance, attempt, headers) => call.attempt(instance, attempt, headers),
      resolve,
      reject,
    });
    tell(this.#guarded(source, relayed, options), call);
  }

  get activeCalls(): number {
    return this.#calls;
  }

  idle(): Promise<void> {
    if (this.#calls === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#idleWaiters ??= [];
      this.#idleWaiters.push(resolve);
    });
  }

  #settled(): void {
    if (--this.#calls > 0 || this.#idleWaiters === undefined) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  isOpen(instanceId: string): boolean {
    return this.#breakers?.isOpen(instanceId) ?? false;
  }

  retain(instanceIds: ReadonlySet<string>): void {
    this.#breakers?.retain(instanceIds);
  }

  stats(): ExecutorStats {
    return this.#counters.snapshot(this.#breakers?.openCount ?? 0);
  }

  close(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason ?? this.#closedError();
    this.#attemptTimeouts?.clear();
    this.#deadlines?.clear();
    for (const call of this.#active.takeAll()) call.abort(this.#closeReason);
    this.#breakers?.clear();
  }

  /**
   * A call inside the bulkhead and the service breaker, which take a promise-returning function:
   * `callFor` makes the call whose outcome settles that promise.
   */
  async #guarded<T>(
    source: InstanceSource,
    callFor: (resolve: (value: T) => void, reject: (error: unknown) => void) => DispatchedCall<T>,
    options?: ExecuteOptions<T>,
  ): Promise<T> {
    const run = () =>
      new Promise<T>((resolve, reject) => {
        this.#run(source, callFor(resolve, reject), options, false);
      });
    const breaker = this.#serviceBreaker;
    const guarded = breaker ? () => breaker.execute(run) : run;
    try {
      return await guardCall(
        guarded,
        this.#bulkhead,
        options?.signal,
        this.#report.rejected,
        this.#o.service,
      );
    } finally {
      this.#settled();
    }
  }

  /**
   * A call, `execute`'s or `dispatch`'s. Its first attempt runs here with no promise and no
   * async frame of the executor's, and reports to a FirstAttempt: most calls end with it. A
   * call whose first attempt fails, that is hedged, or that finds no instance goes on in
   * `#retry`. `counted`: this run settles the call's place in `activeCalls` (a guarded call's
   * wrapper does otherwise).
   */
  #run<T>(
    source: InstanceSource,
    target: DispatchedCall<T>,
    options: ExecuteOptions<T> | undefined,
    counted: boolean,
  ): void {
    const callerSignal = options?.signal;
    if (callerSignal?.aborted) {
      this.#counters.failures++;
      if (counted) this.#settled();
      target.reject(abortReason(callerSignal));
      return;
    }
    // Every call is abortable by close(): a plain object in a list, no listener on any signal.
    const call = new CallScope(this.#report, callerSignal);
    this.#active.add(call);
    // One timestamp serves the deadline, the budget and the first attempt's timeout and latency:
    // clock reads are not free.
    const startedAt = this.clock.now();
    this.#budget?.deposit(startedAt);
    if (this.#deadlines) call.deadline = this.#deadlines.add(call, startedAt);
    const hedged =
      options?.idempotent === true && options.hedgeAfterMs !== undefined && this.#o.maxAttempts > 1;
    const runner = this.#runner;
    let instance: ServiceInstance | undefined;
    let scope: AttemptScope | undefined;
    try {
      instance = hedged || this.#closed ? undefined : runner.pick(source, undefined);
      if (instance !== undefined) {
        scope = runner.scope(instance, 1, call, startedAt);
        runner.begin(source, instance, scope, startedAt);
      }
    } catch (error) {
      if (instance === undefined || scope === undefined) {
        // The pick itself threw: nothing was sent.
        this.#report.gaveUp(undefined, 1, error);
        this.#end(call, counted);
        target.reject(error);
        return;
      }
      // The instance's breaker refused the attempt: nothing was sent.
      runner.failed(instance, scope, error);
      const first = { instance, error };
      tell(this.#retry(call, source, attemptFnOf(target), options, counted, undefined, first), target);
      return;
    }
    if (instance === undefined || scope === undefined) {
      tell(this.#retry(call, source, attemptFnOf(target), options, counted, startedAt, undefined), target);
      return;
    }
    scope.settleWith(new FirstAttempt(this, call, source, target, options, instance, counted));
    try {
      target.attempt(instance, scope as DispatchedAttempt<T>);
    } catch (error) {
      scope.reject(error);
    }
  }

  /** How a dispatched call's first attempt ended (FirstAttempt's report). */
  firstAttemptSettled<T>(
    first: FirstAttempt<T>,
    scope: AttemptScope,
    ok: boolean,
    valueOrError: unknown,
  ): void {
    const { call, source, target, options, instance, counted } = first;
    if (ok) {
      this.#runner.succeeded(instance, scope, valueOrError as T, options?.succeeded);
      this.#counters.successes++;
      this.#end(call, counted);
      target.resolve(valueOrError as T);
      return;
    }
    this.#runner.failed(instance, scope, valueOrError);
    // The retry starts on a later turn, as it would after a rejected promise: an attempt may fail
    // inside its own dispatch, an abort or a timer's loop, none of which should run the next one.
    const failed = { instance, error: valueOrError };
    queueMicrotask(() =>
      tell(this.#retry(call, source, attemptFnOf(target), options, counted, undefined, failed), target),
    );
  }

  /** The call is over: it leaves the active set and its scope lets go of listener and deadline. */
  #end(call: CallScope, counted: boolean): void {
    this.#active.delete(call);
    call.dispose();
    if (counted) this.#settled();
  }

  /**
   * The rest of a call: retries with failover and backoff, hedged rounds, and the give-up.
   * `first`: the first attempt, which `#run` made and which failed.
   */
  async #retry<T>(
    call: CallScope,
    source: InstanceSource,
    fn: UserFn<T>,
    options: ExecuteOptions<T> | undefined,
    counted: boolean,
    firstStartedAt: number | undefined,
    first: { readonly instance: ServiceInstance; readonly error: unknown } | undefined,
  ): Promise<T> {
    const o = this.#o;
    const idempotent = options?.idempotent === true;
    const hedgeAfterMs = idempotent ? options?.hedgeAfterMs : undefined;
    let startedAt = firstStartedAt;
    let tried: string[] | undefined;
    // Allocated on the first failure only: a call that succeeds at once records nothing.
    let failures: FailedAttempt[] | undefined;
    let backoff: BackoffSequence | undefined;
    let attempt = 1;
    let instanceId: string | undefined;
    // Overload answers (429/503) in this call: from two instances, the service is overloaded.
    let overloads = 0;
    // An instance chosen for an immediate failover, taken by the next round.
    let failover: ServiceInstance | undefined;
    let pending = first;
    try {
      for (;;) {
        let error: unknown;
        if (pending !== undefined) {
          instanceId = pending.instance.id;
          error = pending.error;
          tried = [instanceId];
          failures = [{ attempt, instanceId, error }];
          pending = undefined;
        } else {
          if (this.#closed) throw this.#closeReason;
          const instance = failover ?? this.#runner.pick(source, tried);
          failover = undefined;
          if (instance === undefined) {
            instanceId = undefined;
            error = new NoAvailableInstanceError(o.service, tried ? 'no instance left to try' : undefined);
            failures ??= [];
            failures.push({ attempt, instanceId, error });
          } else {
            instanceId = instance.id;
            const hedged = hedgeAfterMs !== undefined && attempt < o.maxAttempts;
            // Only a hedged round needs a record of its attempts: the plain path allocates nothing.
            const round = hedged ? { attempt, instanceId: instance.id as string | undefined } : undefined;
            try {
              let value: T;
              if (round !== undefined) {
                tried ??= [];
                failures ??= [];
                const deps = {
                  runner: this.#runner,
                  source,
                  fn,
                  call,
                  tried,
                  failures,
                  succeeded: options?.succeeded,
                  clock: this.clock,
                };
                value = await runHedged(
                  { ...deps, onHedge: this.#report.hedge },
                  instance,
                  round,
                  hedgeAfterMs!,
                );
              } else {
                const now = startedAt ?? this.clock.now();
                const scope = this.#runner.scope(instance, attempt, call, now);
                value = await this.#runner.run(source, instance, fn, scope, now, options?.succeeded);
              }
              this.#counters.successes++;
              return value;
            } catch (caught) {
              error = caught;
            }
            if (round !== undefined) {
              attempt = round.attempt;
              instanceId = round.instanceId;
            } else {
              tried ??= [];
              tried.push(instance.id);
              failures ??= [];
              failures.push({ attempt, instanceId, error });
            }
          }
        }
        if (call.aborted) throw call.reason;
        const cls = this.#gate.admit(failures!, attempt, idempotent);
        if (cls.overload === true) overloads++;
        // Failover as fast as a proxy's redispatch: a different instance, at once. Backoff only
        // when the retry must reuse an instance or the whole service asks to slow down.
        if (overloads < 2) failover = this.#runner.pickFresh(source, tried);
        backoff ??= this.#gate.backoff();
        const delayMs = this.#gate.delay(failures!, attempt, cls, failover !== undefined, backoff);
        attempt++;
        startedAt = undefined;
        if (delayMs > 0) await call.sleep(delayMs);
      }
    } catch (error) {
      this.#report.gaveUp(instanceId, attempt, error);
      throw error;
    } finally {
      this.#end(call, counted);
    }
  }

  #closedError(): SwitchyardError {
    return new SwitchyardError(`${this.#o.service}: executor is closed`, { service: this.#o.service });
  }
}

/** The first attempt of a dispatched call: where its end is reported, with what the call needs next. */
class FirstAttempt<T> implements AttemptSettler {
  constructor(
    readonly executor: ResilientExecutor,
    readonly call: CallScope,
    readonly source: InstanceSource,
    readonly target: DispatchedCall<T>,
    readonly options: ExecuteOptions<T> | undefined,
    readonly instance: ServiceInstance,
    readonly counted: boolean,
  ) {}

  attemptSettled(scope: AttemptScope, ok: boolean, valueOrError: unknown): void {
    this.executor.firstAttemptSettled(this, scope, ok, valueOrError);
  }
}

/** `execute`'s call: the user's promise settles each attempt, and the call settles `execute`'s promise. */
class PromisedCall<T> implements DispatchedCall<T> {
  constructor(
    readonly fn: UserFn<T>,
    readonly resolve: (value: T) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  attempt(instance: ServiceInstance, attempt: DispatchedAttempt<T>): void {
    // A function that throws, or returns no promise, fails its attempt (the executor catches).
    this.fn(instance, attempt).then(
      (value) => attempt.resolve(value),
      (error: unknown) => attempt.reject(error),
    );
  }
}

/** The promise-returning function a call's retries and hedges run. */
function attemptFnOf<T>(call: DispatchedCall<T>): UserFn<T> {
  return call instanceof PromisedCall ? call.fn : toAttemptFn(call);
}

/**
 * A dispatched call as the promise-returning function `execute` takes: for retries, hedges and
 * calls that wait for diagnostics, which are rare enough to afford a promise per attempt.
 */
export function toAttemptFn<T>(
  call: DispatchedCall<T>,
): (instance: ServiceInstance, ctx: AttemptContext, headers?: Record<string, string>) => Promise<T> {
  return (instance, ctx, headers) =>
    new Promise<T>((resolve, reject) => {
      const attempt = new PromisedAttempt(ctx, resolve, reject);
      try {
        call.attempt(instance, attempt, headers);
      } catch (error) {
        reject(error);
      }
    });
}

/**
 * An attempt whose end settles a promise: the context is the executor's, untouched (whoever
 * runs the promise, `execute` included, keeps its own say over the scope).
 */
class PromisedAttempt<T> implements DispatchedAttempt<T> {
  readonly #context: AttemptContext;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;

  constructor(context: AttemptContext, resolve: (value: T) => void, reject: (error: unknown) => void) {
    this.#context = context;
    this.resolve = resolve;
    this.reject = reject;
  }

  get signal(): AbortSignal {
    return this.#context.signal;
  }

  get attempt(): number {
    return this.#context.attempt;
  }

  get abortTarget(): AttemptAbortTarget | undefined {
    return this.#context.abortTarget;
  }
}

/** Tells a dispatched call how the promise of its remaining work settled. */
function tell<T>(work: Promise<T>, call: DispatchedCall<T>): void {
  work.then(
    (value) => call.resolve(value),
    (error: unknown) => call.reject(error),
  );
}

/** Throws a ValidationError unless `call` has the three methods of a DispatchedCall. */
export function assertDispatchedCall(call: unknown): asserts call is DispatchedCall<unknown> {
  const c = call as DispatchedCall<unknown> | null | undefined;
  if (
    c === null ||
    typeof c !== 'object' ||
    typeof c.attempt !== 'function' ||
    typeof c.resolve !== 'function' ||
    typeof c.reject !== 'function'
  ) {
    throw new ValidationError('call', 'expected a DispatchedCall with attempt(), resolve() and reject()');
  }
}

/** The give-up errors wrap the failure that decides whether the service is failing. */
function causeOf(error: unknown): unknown {
  return error instanceof NotRetriedError ||
    error instanceof RetryBudgetExceededError ||
    error instanceof AllAttemptsFailedError
    ? error.cause
    : error;
}
