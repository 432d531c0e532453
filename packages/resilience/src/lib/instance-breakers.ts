import { CircuitOpenError } from '@switchyard/core';
import { CircuitState, type IBreaker } from 'cockatiel';
import { createBreaker, type ResolvedBreakerOptions } from './breaker-policy.ts';

/** Breaker transitions, reported with the attempt that caused them. */
export interface BreakerListener {
  onBreakerChange(change: 'open' | 'halfOpen' | 'close', instanceId: string, attempt: number): void;
}

/**
 * What an attempt's outcome says about its instance: `success`; `failure` (counts against it);
 * `answered` (the instance is alive but the call failed: a 404, a 429, an application error);
 * `cancelled` (aborted by its caller or a winning hedge: no verdict at all).
 */
export type AttemptVerdict = 'success' | 'failure' | 'answered' | 'cancelled';

/** One instance's breaker: cockatiel's trip rule plus the state it guards. */
export class BreakerEntry {
  state: CircuitState = CircuitState.Closed;
  openedAt = 0;
  /** Probes in flight while half-open. */
  probes = 0;
  constructor(
    readonly instanceId: string,
    readonly breaker: IBreaker,
  ) {}
}

/**
 * One circuit breaker per instance id, created on the instance's first counted failure: a fleet
 * that never fails costs one empty map. cockatiel's `ConsecutiveBreaker` / `SamplingBreaker`
 * decide when to open; the state machine around them is ours, because routing needs what
 * cockatiel's policy does not give:
 * - recording an outcome never waits (cockatiel's `execute` waits for a half-open probe);
 * - a cancelled probe is no verdict: the breaker stays half-open and the next probe decides
 *   (cockatiel closes on any error it does not handle, an abort included);
 * - `halfOpenProbes` probes may run at once (cockatiel allows one and queues the rest).
 *
 * Times come from `Date.now()`, as in cockatiel's trip rules (tests move them with fake timers).
 *
 * @example
 * const breakers = new InstanceBreakers('users', resolveBreakerOptions({}, 'circuitBreaker'));
 * const probe = breakers.admit('users-1', 1); // throws CircuitOpenError while open
 * breakers.record('users-1', 1, probe, 'failure');
 * breakers.isOpen('users-1'); // false until 5 failures in a row
 */
export class InstanceBreakers {
  readonly #service: string;
  readonly #options: ResolvedBreakerOptions;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #listener: BreakerListener | undefined;
  readonly #byId = new Map<string, BreakerEntry>();
  #open = 0;

  constructor(
    service: string,
    options: ResolvedBreakerOptions,
    isFailure: (error: unknown) => boolean = () => true,
    listener?: BreakerListener,
  ) {
    this.#service = service;
    this.#options = options;
    this.#isFailure = isFailure;
    this.#listener = listener;
  }

  /** Whether picks should skip this instance now: open and not yet due, or half-open and full. */
  isOpen(instanceId: string): boolean {
    if (this.#open === 0) return false;
    const entry = this.#byId.get(instanceId);
    if (entry === undefined) return false;
    switch (entry.state) {
      case CircuitState.Open:
        return Date.now() - entry.openedAt < this.#options.halfOpenAfterMs;
      case CircuitState.HalfOpen:
        return entry.probes >= this.#options.halfOpenProbes;
      default:
        return false;
    }
  }

  /** Breakers open or half-open right now. */
  get openCount(): number {
    return this.#open;
  }

  /** Breakers held in memory (one per instance that failed at least once and is still known). */
  get size(): number {
    return this.#byId.size;
  }

  /**
   * Lets an attempt at the instance start. Returns the entry when the attempt is a probe of an
   * open or half-open breaker, undefined for an ordinary attempt; throws CircuitOpenError when
   * the breaker is open and not due, or half-open with every probe slot taken.
   */
  admit(instanceId: string, attempt: number): BreakerEntry | undefined {
    if (this.#open === 0) return undefined;
    const entry = this.#byId.get(instanceId);
    if (entry === undefined || entry.state === CircuitState.Closed) return undefined;
    if (entry.state === CircuitState.Open) {
      if (Date.now() - entry.openedAt < this.#options.halfOpenAfterMs) throw this.#rejected(instanceId);
      entry.state = CircuitState.HalfOpen;
      entry.probes = 1;
      this.#notify('halfOpen', instanceId, attempt);
      return entry;
    }
    if (entry.probes >= this.#options.halfOpenProbes) throw this.#rejected(instanceId);
    entry.probes++;
    return entry;
  }

  /** Records an attempt's verdict at once (never waits); `probe` is what `admit` returned. */
  record(
    instanceId: string,
    attempt: number,
    probe: BreakerEntry | undefined,
    verdict: AttemptVerdict,
  ): void {
    if (probe !== undefined) {
      // A breaker dropped by retain() or clear() while its probe ran: nothing left to decide.
      if (this.#byId.get(instanceId) !== probe) return;
      probe.probes--;
      if (probe.state === CircuitState.HalfOpen) {
        this.#settleProbe(probe, attempt, verdict);
        return;
      }
      // Another probe already decided: a late one counts like any attempt while closed.
    }
    if (verdict === 'success') {
      if (this.#byId.size === 0) return; // the usual case: nothing has failed, nothing to reset
      const entry = this.#byId.get(instanceId);
      if (entry?.state === CircuitState.Closed) entry.breaker.success(CircuitState.Closed);
    } else if (verdict === 'failure') {
      let entry = this.#byId.get(instanceId);
      if (entry === undefined) {
        entry = new BreakerEntry(instanceId, createBreaker(this.#options));
        this.#byId.set(instanceId, entry);
      }
      if (entry.state === CircuitState.Closed && entry.breaker.failure(CircuitState.Closed)) {
        this.#trip(entry, attempt);
      }
    }
  }

  /** Runs `fn` through the instance's breaker; an open breaker rejects with CircuitOpenError. */
  async execute<T>(instanceId: string, attempt: number, fn: () => Promise<T>): Promise<T> {
    const probe = this.admit(instanceId, attempt);
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      this.record(instanceId, attempt, probe, this.#isFailure(error) ? 'failure' : 'answered');
      throw error;
    }
    this.record(instanceId, attempt, probe, 'success');
    return value;
  }

  /**
   * Drops the breakers of instances that left discovery, open ones included (Envoy drops a
   * removed host's state too): replaced pods must not pile up as open breakers forever.
   */
  retain(instanceIds: ReadonlySet<string>): void {
    for (const [id, entry] of this.#byId) {
      if (instanceIds.has(id)) continue;
      if (entry.state !== CircuitState.Closed) this.#open--;
      this.#byId.delete(id);
    }
  }

  clear(): void {
    this.#byId.clear();
    this.#open = 0;
  }

  #settleProbe(entry: BreakerEntry, attempt: number, verdict: AttemptVerdict): void {
    switch (verdict) {
      case 'cancelled':
        return; // no verdict: still half-open, the next probe decides
      case 'failure':
        entry.breaker.failure(CircuitState.HalfOpen);
        entry.state = CircuitState.Open;
        entry.openedAt = Date.now();
        this.#notify('open', entry.instanceId, attempt);
        return;
      default:
        // The instance answered: alive again (cockatiel's rule for errors it does not count).
        entry.breaker.success(CircuitState.HalfOpen);
        entry.state = CircuitState.Closed;
        this.#open--;
        this.#notify('close', entry.instanceId, attempt);
    }
  }

  #trip(entry: BreakerEntry, attempt: number): void {
    entry.state = CircuitState.Open;
    entry.openedAt = Date.now();
    entry.probes = 0;
    this.#open++;
    this.#notify('open', entry.instanceId, attempt);
  }

  #rejected(instanceId: string): CircuitOpenError {
    return new CircuitOpenError(this.#service, instanceId);
  }

  #notify(change: 'open' | 'halfOpen' | 'close', instanceId: string, attempt: number): void {
    this.#listener?.onBreakerChange(change, instanceId, attempt);
  }
}
