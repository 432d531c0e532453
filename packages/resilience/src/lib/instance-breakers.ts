import { CircuitOpenError } from '@switchyard/core';
import { BrokenCircuitError, type CircuitBreakerPolicy, CircuitState, type IBreaker } from 'cockatiel';
import { createBreaker, createBreakerPolicy, type ResolvedBreakerOptions } from './breaker-policy.ts';

/** Breaker transitions, reported with the attempt that caused them. */
export interface BreakerListener {
  onBreakerChange(change: 'open' | 'halfOpen' | 'close', instanceId: string, attempt: number): void;
}

/** One instance's breaker. `broken` is true from open until closed again (half-open included). */
export class BreakerEntry {
  openedAt = 0;
  broken = false;
  probes = 0;
  lastAttempt = 0;
  constructor(
    readonly instanceId: string,
    readonly policy: CircuitBreakerPolicy,
    readonly breaker: IBreaker,
  ) {}
}

const rethrow = (error: unknown): never => {
  throw error;
};

/**
 * One cockatiel circuit breaker per instance id, created on first use. cockatiel owns the
 * state machine and the trip rule; this adds what routing needs: `isOpen(id)` is true while
 * the breaker is open and not yet due for a probe, or half-open with its probes in flight.
 *
 * While closed, attempts run outside cockatiel's `execute` (two async frames per call saved):
 * a success is recorded on cockatiel's trip rule directly, a failure is replayed through the
 * policy's `execute` so that cockatiel alone decides when to open.
 *
 * Times come from `Date.now()`, as in cockatiel itself (tests move them with fake timers).
 *
 * @example
 * const breakers = new InstanceBreakers('users', resolveBreakerOptions({}, 'circuitBreaker'), isFailure);
 * await breakers.execute('users-1', 1, () => callUsers1());
 * breakers.isOpen('users-1'); // false until 5 failures in a row
 */
export class InstanceBreakers {
  readonly #service: string;
  readonly #options: ResolvedBreakerOptions;
  readonly #isFailure: (error: Error) => boolean;
  readonly #listener: BreakerListener | undefined;
  readonly #byId = new Map<string, BreakerEntry>();
  #open = 0;

  constructor(
    service: string,
    options: ResolvedBreakerOptions,
    isFailure: (error: Error) => boolean,
    listener?: BreakerListener,
  ) {
    this.#service = service;
    this.#options = options;
    this.#isFailure = isFailure;
    this.#listener = listener;
  }

  /** Whether picks should skip this instance now. */
  isOpen(instanceId: string): boolean {
    const entry = this.#byId.get(instanceId);
    if (entry === undefined || !entry.broken) return false;
    switch (entry.policy.state) {
      case CircuitState.Open:
        return Date.now() - entry.openedAt < this.#options.halfOpenAfterMs;
      case CircuitState.HalfOpen:
        return entry.probes >= this.#options.halfOpenProbes;
      case CircuitState.Isolated:
        return true;
      default:
        return false;
    }
  }

  /** Breakers open or half-open right now. */
  get openCount(): number {
    return this.#open;
  }

  /** Runs `fn` through the instance's breaker; an open breaker rejects with CircuitOpenError. */
  async execute<T>(instanceId: string, attempt: number, fn: () => Promise<T>): Promise<T> {
    const entry = this.entry(instanceId, attempt);
    if (entry.broken) return this.probe(entry, fn);
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      await this.failed(entry, error);
      throw error;
    }
    this.succeeded(entry);
    return value;
  }

  /** The instance's breaker (created on first use), noting which attempt uses it. */
  entry(instanceId: string, attempt: number): BreakerEntry {
    const entry = this.#byId.get(instanceId) ?? this.#create(instanceId);
    entry.lastAttempt = attempt;
    return entry;
  }

  /** Records a success of an attempt that ran while the breaker was closed. */
  succeeded(entry: BreakerEntry): void {
    if (entry.policy.state === CircuitState.Closed) entry.breaker.success(CircuitState.Closed);
  }

  /** Replays a failure through cockatiel, which counts it (or not) and opens when due. */
  failed(entry: BreakerEntry, error: unknown): Promise<void> {
    return entry.policy
      .execute(() => rethrow(error))
      .then(
        () => undefined,
        () => undefined,
      );
  }

  /** Runs `fn` as a probe of an open or half-open breaker (cockatiel decides if it may run). */
  async probe<T>(entry: BreakerEntry, fn: () => Promise<T>): Promise<T> {
    entry.probes++;
    try {
      return await entry.policy.execute(fn);
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new CircuitOpenError(this.#service, entry.instanceId);
      throw error;
    } finally {
      entry.probes--;
    }
  }

  /** Drops the breakers of instances that left (closed ones only: open ones keep their verdict). */
  retain(instanceIds: ReadonlySet<string>): void {
    for (const [id, entry] of this.#byId) {
      if (!instanceIds.has(id) && !entry.broken) this.#byId.delete(id);
    }
  }

  clear(): void {
    this.#byId.clear();
    this.#open = 0;
  }

  #create(instanceId: string): BreakerEntry {
    const breaker = createBreaker(this.#options);
    const entry = new BreakerEntry(
      instanceId,
      createBreakerPolicy(this.#options, this.#isFailure, breaker),
      breaker,
    );
    const notify = (change: 'open' | 'halfOpen' | 'close') =>
      this.#listener?.onBreakerChange(change, instanceId, entry.lastAttempt);
    entry.policy.onBreak(() => {
      entry.openedAt = Date.now();
      if (!entry.broken) this.#open++;
      entry.broken = true;
      notify('open');
    });
    entry.policy.onHalfOpen(() => notify('halfOpen'));
    entry.policy.onReset(() => {
      if (entry.broken) this.#open--;
      entry.broken = false;
      notify('close');
    });
    this.#byId.set(instanceId, entry);
    return entry;
  }
}
