import { abortReason, type Clock, type InstanceStats, type TimerHandle } from '@switchyard/core';
import type { AbortListener, AttemptAbortTarget, DispatchedAttempt } from './executor-types.ts';
import type { BreakerEntry } from './instance-breakers.ts';
import type { TimerEntry, TimerTarget } from './timer-queue.ts';

/** What a scope asks of its executor when a timer fires; the answer is the rejection reason. */
export interface ScopeHooks {
  readonly clock: Clock;
  callTimedOut(call: CallScope): unknown;
  attemptTimedOut(attempt: AttemptScope): unknown;
}

/** Hears how an attempt of a dispatched call ended (`DispatchedAttempt.resolve` / `reject`). */
export interface AttemptSettler {
  attemptSettled(attempt: AttemptScope, ok: boolean, valueOrError: unknown): void;
}

/**
 * The abortable state of one call: the caller's signal, the deadline, a backoff sleep and the
 * attempts in flight. It holds no AbortController of its own: aborting it aborts its attempts,
 * which create controllers only if the user's function reads `ctx.signal`.
 */
export class CallScope implements TimerTarget {
  aborted = false;
  /** Neighbours in its executor's ActiveCalls list. */
  previous: CallScope | undefined;
  next: CallScope | undefined;
  reason: unknown;
  deadline: TimerEntry | undefined;
  readonly #hooks: ScopeHooks;
  readonly #callerSignal: AbortSignal | undefined;
  // Usually one attempt at a time; a hedged round adds a second. No array per call.
  #attempt: AttemptScope | undefined;
  #others: AttemptScope[] | undefined;
  #sleepTimer: TimerHandle | undefined;
  #wake: ((error: unknown) => void) | undefined;

  constructor(hooks: ScopeHooks, callerSignal: AbortSignal | undefined) {
    this.#hooks = hooks;
    this.#callerSignal = callerSignal;
    // An object listener (handleEvent) instead of a closure per call.
    callerSignal?.addEventListener('abort', this, { once: true });
  }

  /** The caller's signal fired. */
  handleEvent(): void {
    if (this.#callerSignal) this.abort(abortReason(this.#callerSignal));
  }

  /** The call's deadline passed. */
  onTimer(): void {
    this.deadline = undefined;
    if (!this.aborted) this.abort(this.#hooks.callTimedOut(this));
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#attempt?.abort(reason);
    if (this.#others) for (const attempt of [...this.#others]) attempt.abort(reason);
    this.#wake?.(reason);
  }

  /** Starts tracking an attempt: it is aborted with the call. */
  track(attempt: AttemptScope): void {
    if (this.#attempt === undefined) {
      this.#attempt = attempt;
    } else {
      this.#others ??= [];
      this.#others.push(attempt);
    }
    if (this.aborted) attempt.abort(this.reason);
  }

  untrack(attempt: AttemptScope): void {
    if (this.#attempt === attempt) {
      this.#attempt = undefined;
      return;
    }
    const index = this.#others?.indexOf(attempt) ?? -1;
    if (index >= 0) this.#others!.splice(index, 1);
  }

  /** Waits `ms` on the clock; rejects with the abort reason as soon as the call aborts. */
  sleep(ms: number): Promise<void> {
    if (this.aborted) return Promise.reject(this.reason);
    if (ms <= 0) return Promise.resolve();
    const clock = this.#hooks.clock;
    return new Promise<void>((resolve, reject) => {
      this.#wake = (error) => {
        if (this.#sleepTimer !== undefined) clock.clearTimeout(this.#sleepTimer);
        this.#sleepTimer = undefined;
        this.#wake = undefined;
        reject(error);
      };
      const timer = clock.setTimeout(() => {
        this.#sleepTimer = undefined;
        this.#wake = undefined;
        resolve();
      }, ms);
      // A backoff stands for a request still owed to the caller: like the socket it replaces, it
      // keeps the process alive (bounded by maxMs). close() clears it.
      (timer as { ref?: () => unknown }).ref?.();
      this.#sleepTimer = timer;
    });
  }

  /** Releases the listener and the deadline; the scope is done. */
  dispose(): void {
    this.#callerSignal?.removeEventListener('abort', this);
    this.deadline?.cancel();
    this.deadline = undefined;
  }
}

/**
 * The context one attempt hands the user's function. `signal` is created on first read, so an
 * attempt whose function never looks at it costs no AbortController.
 */
export class AttemptScope implements DispatchedAttempt<unknown>, AttemptAbortTarget, TimerTarget {
  readonly attempt: number;
  readonly instanceId: string;
  timer: TimerEntry | undefined;
  /** Aborted because another attempt of the call answered first: not the instance's failure. */
  superseded = false;
  /** Set by the runner while the attempt is on the wire: its breaker probe, load figures, start. */
  probe: BreakerEntry | undefined;
  load: InstanceStats | undefined;
  startedAt = 0;
  readonly #call: CallScope;
  readonly #hooks: ScopeHooks;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #reject: ((error: unknown) => void) | undefined;
  // Abort listeners: undici adds exactly one per request, so one slot and a rarely used overflow.
  #listener: AbortListener | undefined;
  #moreListeners: AbortListener[] | undefined;
  // A dispatched attempt reports its end here; an attempt whose function returns a promise has none.
  #settler: AttemptSettler | undefined;
  #settled = false;

  constructor(attempt: number, instanceId: string, call: CallScope, hooks: ScopeHooks) {
    this.attempt = attempt;
    this.instanceId = instanceId;
    this.#call = call;
    this.#hooks = hooks;
    call.track(this);
  }

  /** Aborted from outside the attempt (caller, deadline, close, a winning hedge), not by its timeout. */
  get cancelled(): boolean {
    return this.superseded || this.#call.aborted;
  }

  /** The call this attempt belongs to. */
  get call(): CallScope {
    return this.#call;
  }

  /** Makes this a dispatched attempt: `resolve` and `reject` (and an abort) are told to `settler`. */
  settleWith(settler: AttemptSettler): void {
    this.#settler = settler;
  }

  resolve(value: unknown): void {
    this.#settle(true, value);
  }

  reject(error: unknown): void {
    this.#settle(false, error);
  }

  #settle(ok: boolean, valueOrError: unknown): void {
    const settler = this.#settler;
    if (settler === undefined || this.#settled) return;
    this.#settled = true;
    settler.attemptSettled(this, ok, valueOrError);
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** This scope is its own abort target: no AbortController unless `signal` is read. */
  get abortTarget(): AttemptAbortTarget {
    return this;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** As on an AbortSignal: a listener added after the abort is not called. */
  addEventListener(type: 'abort', listener: AbortListener): void {
    if (type !== 'abort' || this.#aborted) return;
    if (this.#listener === undefined) {
      this.#listener = listener;
      return;
    }
    this.#moreListeners ??= [];
    this.#moreListeners.push(listener);
  }

  removeEventListener(type: 'abort', listener: AbortListener): void {
    if (type !== 'abort') return;
    if (this.#listener === listener) this.#listener = undefined;
    else if (this.#moreListeners) {
      const index = this.#moreListeners.indexOf(listener);
      if (index >= 0) this.#moreListeners.splice(index, 1);
    }
  }

  /** The attempt's own timeout passed. */
  onTimer(): void {
    this.timer = undefined;
    if (!this.#aborted) this.abort(this.#hooks.attemptTimedOut(this));
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listener = this.#listener;
    const more = this.#moreListeners;
    this.#listener = undefined;
    this.#moreListeners = undefined;
    if (listener !== undefined) call(listener);
    if (more) for (const other of more) call(other);
    this.#reject?.(reason);
    // A dispatched attempt that its listeners did not end ends now, as race() does for a promise.
    this.#settle(false, reason);
  }

  /**
   * Settles with `work`, or rejects at once when the attempt is aborted, even if `work` ignores it.
   * A function that listens on `abortTarget` (undici does, given it as `signal`) settles `work`
   * itself once the attempt aborts: its promise is returned as it is, with no wrapper to allocate.
   */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.#listener !== undefined && !this.#aborted) return work;
    if (this.#aborted) {
      work.catch(() => undefined);
      return Promise.reject(this.#reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.#reject = reject;
      work.then(resolve, reject);
    });
  }

  /** The attempt is over: its timer and its place in the call are released. */
  end(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.#reject = undefined;
    this.#listener = undefined;
    this.#moreListeners = undefined;
    this.#call.untrack(this);
  }
}

function call(listener: AbortListener): void {
  if (typeof listener === 'function') listener();
  else listener.handleEvent();
}
