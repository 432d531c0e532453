import type { ExecutorStats } from './executor-types.ts';

/** The executor's running counters: plain fields, bumped in place on the hot path. */
export class ExecutorCounters {
  calls = 0;
  successes = 0;
  failures = 0;
  attempts = 0;
  attemptFailures = 0;
  retries = 0;
  hedges = 0;
  timeouts = 0;
  rejections = 0;
  budgetExhausted = 0;
  notRetried = 0;

  /** A frozen copy, with the breaker count measured now. */
  snapshot(breakersOpen: number): ExecutorStats {
    return Object.freeze({
      calls: this.calls,
      successes: this.successes,
      failures: this.failures,
      attempts: this.attempts,
      attemptFailures: this.attemptFailures,
      retries: this.retries,
      hedges: this.hedges,
      timeouts: this.timeouts,
      rejections: this.rejections,
      budgetExhausted: this.budgetExhausted,
      notRetried: this.notRetried,
      breakersOpen,
    });
  }
}
