import { CircuitOpenError } from '@switchyard/core';
import { BrokenCircuitError, type CircuitBreakerPolicy, CircuitState } from 'cockatiel';
import { createBreakerPolicy, type ResolvedBreakerOptions } from './breaker-policy.ts';

/** Breaker transitions, reported with the attempt that caused them. */
export interface BreakerListener {
  onBreakerChange(change: 'open' | 'halfOpen' | 'close', instanceId: string, attempt: number): void;
}

class Entry {
  openedAt = 0;
  broken = false;
  probes = 0;
  lastAttempt = 0;
  constructor(readonly policy: CircuitBreakerPolicy) {}
}

/**
 * One cockatiel circuit breaker per instance id, created on first use. cockatiel owns the state
 * machine; this adds what a balancer needs to route around it: `isOpen(id)` is true while the
 * breaker is open and not yet due for a probe, or half-open with its probes already in flight.
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
  readonly #byId = new Map<string, Entry>();
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
  execute<T>(instanceId: string, attempt: number, fn: () => Promise<T>): Promise<T> {
    const entry = this.#entry(instanceId);
    entry.lastAttempt = attempt;
    // Closed is the hot path: hand straight to cockatiel, no extra async frame.
    if (!entry.broken) return entry.policy.execute(fn);
    return this.#probe(entry, instanceId, fn);
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

  async #probe<T>(entry: Entry, instanceId: string, fn: () => Promise<T>): Promise<T> {
    entry.probes++;
    try {
      return await entry.policy.execute(fn);
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new CircuitOpenError(this.#service, instanceId);
      throw error;
    } finally {
      entry.probes--;
    }
  }

  #entry(instanceId: string): Entry {
    let entry = this.#byId.get(instanceId);
    if (entry !== undefined) return entry;
    const created = new Entry(createBreakerPolicy(this.#options, this.#isFailure));
    created.policy.onBreak(() => {
      created.openedAt = Date.now();
      if (!created.broken) this.#open++;
      created.broken = true;
      this.#listener?.onBreakerChange('open', instanceId, created.lastAttempt);
    });
    created.policy.onHalfOpen(() =>
      this.#listener?.onBreakerChange('halfOpen', instanceId, created.lastAttempt),
    );
    created.policy.onReset(() => {
      if (created.broken) this.#open--;
      created.broken = false;
      this.#listener?.onBreakerChange('close', instanceId, created.lastAttempt);
    });
    this.#byId.set(instanceId, created);
    entry = created;
    return entry;
  }
}
