import {
  AllAttemptsFailedError,
  BulkheadRejectedError,
  CircuitOpenError,
  ManualClock,
  NoAvailableInstanceError,
  NotRetriedError,
  RetryBudgetExceededError,
  type ServiceInstance,
  SwitchyardError,
  ValidationError,
} from '@switchyard/core';
import { describe, expect, it, vi } from 'vitest';
import { createExecutor } from './executor.ts';
import type { AttemptContext, ExecutorOptions } from './executor-types.ts';
import { FakeSource, instances, netError, statusError } from './fake-source.test-support.ts';

// Zero backoff: retry logic is tested without waiting on any timer.
const fast = (extra: Partial<ExecutorOptions> = {}) =>
  createExecutor({ service: 'users', retry: { backoff: { initialMs: 0, maxMs: 0 } }, ...extra });

/** A function that fails with the scripted errors in turn, then answers with the instance id. */
function scripted(...errors: unknown[]) {
  const seen: Array<{ id: string; attempt: number }> = [];
  const fn = async (instance: ServiceInstance, ctx: AttemptContext) => {
    seen.push({ id: instance.id, attempt: ctx.attempt });
    const error = errors.shift();
    if (error !== undefined) throw error;
    return instance.id;
  };
  return { fn, seen };
}

describe('executor: retry and failover', () => {
  it('retries a never-reached failure on a different instance', async () => {
    const source = new FakeSource(instances(3));
    const { fn, seen } = scripted(netError('ECONNREFUSED'));
    await expect(fast().execute(source, fn)).resolves.toBe('users-2');
    expect(seen).toEqual([
      { id: 'users-1', attempt: 1 },
      { id: 'users-2', attempt: 2 },
    ]);
  });

  it('fails over to a fresh instance at once, and backs off before reusing one', async () => {
    const clock = new ManualClock();
    const source = new FakeSource(instances(2));
    const refused = netError('ECONNREFUSED');
    const { fn, seen } = scripted(refused, refused);
    const executor = createExecutor({
      service: 'users',
      clock,
      retry: { maxAttempts: 3, backoff: { initialMs: 100, maxMs: 100, jitter: 'none' } },
    });
    const call = executor.execute(source, fn);
    await vi.waitFor(() => expect(seen).toHaveLength(2)); // no clock advance needed for the failover
    expect(clock.now()).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(2); // the third attempt reuses users-1: it waits for its backoff
    clock.advance(100);
    await expect(call).resolves.toBe('users-1');
    executor.close();
  });

  it('spreads retries over instances not yet tried, then reuses one rather than fail', async () => {
    const source = new FakeSource(instances(2));
    const refused = netError('ECONNREFUSED');
    const { fn, seen } = scripted(refused, refused, refused);
    await expect(
      fast({ retry: { maxAttempts: 4, backoff: { initialMs: 0 } } }).execute(source, fn),
    ).resolves.toBe('users-2');
    expect(seen.map((s) => s.id)).toEqual(['users-1', 'users-2', 'users-1', 'users-2']);
  });

  it('gives up after maxAttempts with AllAttemptsFailedError: every attempt listed, cause = the last error', async () => {
    const source = new FakeSource(instances(3));
    const first = statusError(502);
    const second = statusError(504);
    const last = statusError(503);
    const { fn, seen } = scripted(first, second, last);
    const executor = fast();
    const gaveUp: unknown[] = [];
    executor.events.on('giveUp', (event) => gaveUp.push(event.error));
    const error = await executor.execute(source, fn, { idempotent: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllAttemptsFailedError);
    expect(error).toMatchObject({
      service: 'users',
      instanceId: 'users-3',
      cause: last,
      instancesTried: ['users-1', 'users-2', 'users-3'],
      attempts: [
        { attempt: 1, instanceId: 'users-1', error: first },
        { attempt: 2, instanceId: 'users-2', error: second },
        { attempt: 3, instanceId: 'users-3', error: last },
      ],
    });
    expect(seen).toHaveLength(3);
    expect(gaveUp).toEqual([error]);
    expect(executor.stats()).toMatchObject({
      calls: 1,
      attempts: 3,
      retries: 2,
      failures: 1,
      attemptFailures: 3,
    });
  });

  it('does not retry a final error (a 404)', async () => {
    const source = new FakeSource(instances(3));
    const notFound = statusError(404);
    const { fn, seen } = scripted(notFound);
    await expect(fast().execute(source, fn, { idempotent: true })).rejects.toBe(notFound);
    expect(seen).toHaveLength(1);
  });

  it('an application error comes out as itself, unchanged, even after a failover', async () => {
    class NoSuchUserError extends Error {}
    const source = new FakeSource(instances(3));
    const mine = new NoSuchUserError('no user 42');
    const { fn, seen } = scripted(netError('ECONNREFUSED'), mine);
    await expect(fast().execute(source, fn, { idempotent: true })).rejects.toBe(mine);
    expect(seen).toHaveLength(2);
  });

  it('a single attempt (retry: false) that fails to connect is still an AllAttemptsFailedError', async () => {
    const source = new FakeSource(instances(3));
    const refused = netError('ECONNREFUSED');
    const error = await fast({ retry: false })
      .execute(source, scripted(refused).fn)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllAttemptsFailedError);
    expect(error).toMatchObject({ cause: refused, attempts: [{ attempt: 1, instanceId: 'users-1' }] });
  });

  it('never re-sends a non-idempotent call that may have reached the instance', async () => {
    const source = new FakeSource(instances(3));
    const reset = netError('ECONNRESET');
    const { fn, seen } = scripted(reset);
    const executor = fast();
    const error = await executor.execute(source, fn).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotRetriedError);
    expect(error).toMatchObject({ service: 'users', instanceId: 'users-1', cause: reset });
    expect((error as NotRetriedError).reason).toMatch(/may have reached instance users-1.*not idempotent/);
    expect(seen).toHaveLength(1);
    expect(executor.stats().notRetried).toBe(1);
  });

  it('does retry a non-idempotent call that never left (connection refused)', async () => {
    const source = new FakeSource(instances(3));
    const { fn, seen } = scripted(netError('ECONNREFUSED'), netError('ENOTFOUND'));
    await expect(fast().execute(source, fn, { idempotent: false })).resolves.toBe('users-3');
    expect(seen).toHaveLength(3);
  });

  it('retries the same reset when the call is idempotent', async () => {
    const source = new FakeSource(instances(3));
    const { fn } = scripted(netError('ECONNRESET'));
    await expect(fast().execute(source, fn, { idempotent: true })).resolves.toBe('users-2');
  });

  it('retryOn overrides the classification but not the idempotency rule', async () => {
    const source = new FakeSource(instances(3));
    const custom = new Error('custom, retry me');
    const retryOn = (error: unknown) =>
      error === custom ? true : error instanceof Error ? false : undefined;
    const executor = fast({ retry: { backoff: { initialMs: 0 }, retryOn } });
    const a = scripted(custom);
    await expect(executor.execute(source, a.fn, { idempotent: true })).resolves.toBeDefined();
    expect(a.seen).toHaveLength(2);
    const b = scripted(netError('ECONNREFUSED'));
    await expect(executor.execute(source, b.fn)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(b.seen).toHaveLength(1);
    const c = scripted(custom);
    await expect(executor.execute(source, c.fn, { idempotent: false })).rejects.toBeInstanceOf(
      NotRetriedError,
    );
  });

  it('fails with NoAvailableInstanceError when the source has nothing', async () => {
    const source = new FakeSource([]);
    const executor = fast();
    await expect(executor.execute(source, async () => 'never')).rejects.toBeInstanceOf(
      NoAvailableInstanceError,
    );
    expect(executor.stats()).toMatchObject({ attempts: 0, retries: 2, failures: 1 });
  });

  it('honours Retry-After of a 429, capped at backoff.maxMs', async () => {
    const clock = new ManualClock();
    const executor = createExecutor({
      service: 'users',
      clock,
      retry: { backoff: { initialMs: 10, maxMs: 2_000, jitter: 'none' } },
    });
    const delays: number[] = [];
    executor.events.on('retry', (event) => delays.push(event.delayMs));
    const source = new FakeSource(instances(1)); // retries reuse the instance: they wait
    const { fn } = scripted(
      statusError(429, { 'retry-after': '1' }),
      statusError(429, { 'retry-after': '30' }),
    );
    const result = executor.execute(source, fn, { idempotent: true });
    await flush();
    expect(delays).toEqual([1_000]);
    clock.advance(999);
    await flush();
    expect(delays).toEqual([1_000]);
    clock.advance(1);
    await flush();
    expect(delays).toEqual([1_000, 2_000]); // 30 s asked, 2 s cap
    clock.advance(2_000);
    await expect(result).resolves.toBe('users-1');
  });

  it('keeps load stats: onStart before, onEnd after, success or not', async () => {
    const source = new FakeSource(instances(2));
    const clock = new ManualClock();
    const ends: Array<{ id: string; ok: boolean }> = [];
    const executor = fast({ clock, onAttemptEnd: (i, outcome) => ends.push({ id: i.id, ok: outcome.ok }) });
    const inflightDuring: number[] = [];
    await executor.execute(source, async (instance, ctx) => {
      inflightDuring.push(source.load.of(instance).inflight);
      if (ctx.attempt === 1) throw netError('ECONNREFUSED');
      return 'ok';
    });
    expect(inflightDuring).toEqual([1, 1]);
    expect(source.load.of('users-1')).toMatchObject({ inflight: 0, completed: 1, failed: 1 });
    expect(source.load.of('users-2')).toMatchObject({ inflight: 0, completed: 1, failed: 0 });
    expect(ends).toEqual([
      { id: 'users-1', ok: false },
      { id: 'users-2', ok: true },
    ]);
  });
});

describe('executor: breakers, bulkhead, budget', () => {
  it('routes around an instance whose breaker opened', async () => {
    const source = new FakeSource(instances(2));
    const executor = fast({ circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } });
    const opened: Array<string | undefined> = [];
    executor.events.on('breakerOpen', (event) => opened.push(event.instanceId));
    const down = async (instance: ServiceInstance) => {
      if (instance.id === 'users-1') throw netError('ECONNREFUSED');
      return instance.id;
    };
    for (let i = 0; i < 4; i++) await executor.execute(source, down);
    expect(opened).toEqual(['users-1']);
    expect(executor.isOpen('users-1')).toBe(true);
    expect(executor.stats().breakersOpen).toBe(1);
    source.picks.length = 0;
    for (let i = 0; i < 6; i++) await executor.execute(source, down);
    expect(source.picks).toEqual(Array(6).fill('users-2'));
  });

  it('breaker events: open after N, half-open after the delay, close on a good probe', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const source = new FakeSource(instances(2));
      const executor = fast({ circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 5_000 } });
      const log: string[] = [];
      for (const name of ['breakerOpen', 'breakerHalfOpen', 'breakerClose'] as const) {
        executor.events.on(name, (event) => log.push(`${name}:${event.instanceId}`));
      }
      let users1Down = true;
      const fn = async (instance: ServiceInstance) => {
        if (instance.id === 'users-1' && users1Down) throw netError('ECONNREFUSED');
        return instance.id;
      };
      for (let i = 0; i < 4; i++) await executor.execute(source, fn);
      expect(log).toEqual(['breakerOpen:users-1']);
      vi.setSystemTime(Date.now() + 4_999);
      await executor.execute(source, fn);
      await executor.execute(source, fn);
      expect(source.picks.slice(-2)).toEqual(['users-2', 'users-2']);
      vi.setSystemTime(Date.now() + 1);
      users1Down = false;
      const results = [await executor.execute(source, fn), await executor.execute(source, fn)];
      expect(results).toContain('users-1'); // the probe went to users-1 and succeeded
      expect(log).toEqual(['breakerOpen:users-1', 'breakerHalfOpen:users-1', 'breakerClose:users-1']);
      expect(executor.isOpen('users-1')).toBe(false);
      expect(executor.stats().breakersOpen).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a picked instance with an open breaker fails as CircuitOpenError and the call moves on', async () => {
    const single = new FakeSource(instances(1));
    const executor = fast({ retry: { maxAttempts: 1 }, circuitBreaker: { consecutiveFailures: 1 } });
    await executor
      .execute(single, async () => Promise.reject(netError('ECONNREFUSED')))
      .catch(() => undefined);
    // A source that ignores `excluded` still cannot reach the instance.
    const stubborn = { load: single.load, pick: () => single.instances[0] };
    await expect(executor.execute(stubborn, async () => 'sent')).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('the optional service breaker fails fast once the service keeps failing', async () => {
    const source = new FakeSource(instances(2));
    const executor = fast({
      retry: false,
      circuitBreaker: false,
      serviceBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 },
    });
    const calls = { n: 0 };
    const failing = async () => {
      calls.n++;
      throw statusError(503);
    };
    for (let i = 0; i < 3; i++) await executor.execute(source, failing).catch(() => undefined);
    const error = await executor.execute(source, failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({ service: 'users', instanceId: undefined });
    expect(calls.n).toBe(3);
  });

  it('bulkhead rejects beyond maxConcurrent + maxQueue with BulkheadRejectedError', async () => {
    const source = new FakeSource(instances(3));
    const executor = fast({ bulkhead: { maxConcurrent: 2, maxQueue: 1 } });
    const rejected: number[] = [];
    executor.events.on('bulkheadRejected', (event) => rejected.push(event.attempt));
    const gates: Array<() => void> = [];
    const slow = () => new Promise<string>((resolve) => gates.push(() => resolve('done')));
    const running = [
      executor.execute(source, slow),
      executor.execute(source, slow),
      executor.execute(source, slow),
    ];
    const error = await executor.execute(source, slow).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(error).toMatchObject({ service: 'users' });
    expect(gates).toHaveLength(2); // two running, one queued
    gates[0]!();
    await flush();
    expect(gates).toHaveLength(3); // the queued call got the freed slot
    for (const gate of gates.slice(1)) gate();
    await expect(Promise.all(running)).resolves.toEqual(['done', 'done', 'done']);
    expect(executor.stats()).toMatchObject({ calls: 4, rejections: 1, successes: 3, failures: 1 });
    expect(rejected).toHaveLength(1);
  });

  it('a call queued in the bulkhead leaves at once when its caller aborts', async () => {
    const source = new FakeSource(instances(1));
    const executor = fast({ bulkhead: { maxConcurrent: 1, maxQueue: 1 } });
    let release!: () => void;
    const running = executor.execute(source, () => new Promise<string>((r) => (release = () => r('first'))));
    const controller = new AbortController();
    let queuedRan = false;
    const queued = executor.execute(source, async () => (queuedRan = true), { signal: controller.signal });
    await flush();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(queued).rejects.toBe(reason);
    release();
    await expect(running).resolves.toBe('first');
    await flush();
    expect(queuedRan).toBe(false);
  });

  it('retry budget stops a storm: attempts ≤ calls × (1 + ratio) + floor when everything fails', async () => {
    const clock = new ManualClock(5_000);
    const ratio = 0.2;
    const executor = createExecutor({
      service: 'users',
      clock,
      retry: { maxAttempts: 5, backoff: { initialMs: 0, maxMs: 0 } },
      circuitBreaker: false,
      retryBudget: { ratio, minRetriesPerSecond: 1, windowMs: 10_000 },
    });
    const source = new FakeSource(instances(3));
    let attempts = 0;
    const down = async () => {
      attempts++;
      throw netError('ECONNREFUSED');
    };
    const calls = 500;
    const errors: unknown[] = [];
    for (let i = 0; i < calls; i++)
      errors.push(await executor.execute(source, down).catch((e: unknown) => e));
    const floor = 10; // 1/s × 10 s
    expect(attempts).toBeLessThanOrEqual(calls * (1 + ratio) + floor);
    expect(attempts).toBeGreaterThan(calls + floor); // retries did happen while the budget lasted
    const exhausted = errors.filter((e) => e instanceof RetryBudgetExceededError);
    expect(exhausted.length).toBeGreaterThan(calls / 2);
    expect((exhausted[0] as RetryBudgetExceededError).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(executor.stats().budgetExhausted).toBe(exhausted.length);
  });
});

describe('executor: stats', () => {
  it('counts calls, attempts, retries, failures, timeouts and not-retried calls', async () => {
    const clock = new ManualClock();
    const executor = createExecutor({
      service: 'users',
      clock,
      timeoutMs: 100,
      retry: { backoff: { initialMs: 0, maxMs: 0 } },
    });
    const source = new FakeSource(instances(3));
    await executor.execute(source, scripted(netError('ECONNREFUSED')).fn); // 2 attempts, 1 retry
    await executor.execute(source, scripted().fn); // 1 attempt
    await executor.execute(source, scripted(netError('ECONNRESET')).fn).catch(() => undefined); // not retried
    const hung = executor.execute(source, () => new Promise<string>(() => undefined), { idempotent: true });
    for (let i = 0; i < 3; i++) {
      await flush();
      clock.advance(100);
    }
    await expect(hung).rejects.toMatchObject({
      name: 'AllAttemptsFailedError',
      cause: { name: 'TimeoutError' },
    });
    expect(executor.stats()).toEqual({
      calls: 4,
      successes: 2,
      failures: 2,
      attempts: 2 + 1 + 1 + 3,
      attemptFailures: 1 + 1 + 3,
      retries: 1 + 2,
      hedges: 0,
      timeouts: 3,
      rejections: 0,
      budgetExhausted: 0,
      notRetried: 1,
      breakersOpen: 0,
    });
  });
});

describe('executor: caller abort, close, bad input', () => {
  it('the caller’s signal aborts the attempt at once, with its reason, and nothing is retried', async () => {
    const source = new FakeSource(instances(3));
    const executor = fast();
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const result = executor.execute(
      source,
      (_instance, ctx) => {
        signals.push(ctx.signal);
        return new Promise<string>(() => undefined); // ignores its signal on purpose
      },
      { signal: controller.signal, idempotent: true },
    );
    await flush();
    const reason = new Error('user navigated away');
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBe(reason);
    expect(executor.stats()).toMatchObject({ attempts: 1, retries: 0 });
  });

  it('an already-aborted signal starts nothing', async () => {
    const source = new FakeSource(instances(1));
    const executor = fast();
    let ran = false;
    const signal = AbortSignal.abort(new Error('too late'));
    await expect(executor.execute(source, async () => (ran = true), { signal })).rejects.toThrow('too late');
    expect(ran).toBe(false);
  });

  it('close() wakes a sleeping retry with an error and refuses new calls', async () => {
    const clock = new ManualClock();
    const executor = createExecutor({ service: 'users', clock, retry: { backoff: { initialMs: 500 } } });
    const source = new FakeSource(instances(2));
    // The first refusal fails over at once; the second one sleeps in backoff.
    const { fn } = scripted(netError('ECONNREFUSED'), netError('ECONNREFUSED'));
    const pending = executor.execute(source, fn);
    await flush();
    expect(clock.pendingTimers).toBeGreaterThan(0);
    executor.close();
    await expect(pending).rejects.toThrow(/executor is closed/);
    expect(clock.pendingTimers).toBe(0);
    await expect(executor.execute(source, fn)).rejects.toBeInstanceOf(SwitchyardError);
  });

  it('rejects bad options with a ValidationError naming the option', () => {
    // Tried: an empty service, zero attempts, a NaN timeout, a zero bulkhead, a jitter typo.
    expect(() => createExecutor({ service: '' })).toThrow(ValidationError);
    expect(() => createExecutor({ service: 'users', retry: { maxAttempts: 0 } })).toThrow(
      /retry\.maxAttempts/,
    );
    expect(() => createExecutor({ service: 'users', timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
    expect(() => createExecutor({ service: 'users', deadlineMs: 2 ** 31 })).toThrow(/deadlineMs/); // would fire at once
    expect(() => createExecutor({ service: 'users', bulkhead: { maxConcurrent: 0 } })).toThrow(
      /bulkhead\.maxConcurrent/,
    );
    expect(() =>
      createExecutor({ service: 'users', retry: { backoff: { jitter: 'fulll' as unknown as 'full' } } }),
    ).toThrow(/retry\.backoff\.jitter/);
    expect(() =>
      createExecutor({ service: 'users', retry: { backoff: { initialMs: 100, maxMs: 10 } } }),
    ).toThrow(/retry\.backoff\.maxMs/);
  });

  it('rejects a bad call (no function, a negative hedge delay) without running anything', async () => {
    const source = new FakeSource(instances(1));
    const executor = fast();
    await expect(executor.execute(source, 'nope' as never)).rejects.toThrow(/invalid fn/);
    await expect(executor.execute(source, async () => 1, { hedgeAfterMs: -5 })).rejects.toThrow(
      /hedgeAfterMs/,
    );
    expect(executor.stats().attempts).toBe(0);
  });
});

/** Lets promise chains settle (several microtask turns and one macrotask). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
