/**
 * `Executor.dispatch`, the callback form of `execute`. The executor's own suites run again here
 * with every `execute` going through `dispatch` (the user's promise settles the attempt), so the
 * two forms are held to the same behaviour; then what only the callback form has.
 */
import {
  LoadStats,
  ManualClock,
  NoAvailableInstanceError,
  TimeoutError,
  ValidationError,
} from '@switchyard/core';
import { describe, expect, it, vi } from 'vitest';
import type * as ExecutorModule from './executor.ts';
import type {
  AttemptContext,
  DispatchedAttempt,
  DispatchedCall,
  ExecuteOptions,
  Executor,
  InstanceSource,
} from './executor-types.ts';
import { FakeSource, instances, netError } from './fake-source.test-support.ts';

vi.mock('./executor.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof ExecutorModule>();
  return {
    ...actual,
    createExecutor: (...args: Parameters<typeof actual.createExecutor>) =>
      throughDispatch(actual.createExecutor(...args)),
  };
});

/** The executor, with `execute` made of `dispatch`: what the suites below exercise. */
function throughDispatch(executor: Executor): Executor {
  return {
    execute: <T>(
      source: InstanceSource,
      fn: (instance: import('@switchyard/core').ServiceInstance, ctx: AttemptContext) => Promise<T>,
      options?: ExecuteOptions<T>,
    ) =>
      // A bad fn: dispatch refuses a bad call by throwing (tested below), execute by rejecting.
      typeof fn !== 'function'
        ? executor.execute(source, fn, options)
        : new Promise<T>((resolve, reject) => {
            const attempt: DispatchedCall<T>['attempt'] = (instance, attempt) => {
              fn(instance, attempt).then(
                (value) => attempt.resolve(value),
                (error: unknown) => attempt.reject(error),
              );
            };
            executor.dispatch(source, { attempt, resolve, reject }, options);
          }),
    dispatch: (source, call, options) => executor.dispatch(source, call, options),
    get events() {
      return executor.events;
    },
    isOpen: (id) => executor.isOpen(id),
    retain: (ids) => executor.retain(ids),
    stats: () => executor.stats(),
    get activeCalls() {
      return executor.activeCalls;
    },
    idle: () => executor.idle(),
    close: (reason) => executor.close(reason),
  };
}

describe('the executor suites, through dispatch', async () => {
  await import('./executor.test.ts');
  await import('./executor.failover.test.ts');
  await import('./executor.breakers.test.ts');
  await import('./hedge.test.ts');
});

const { createExecutor, toAttemptFn } = await vi.importActual<typeof ExecutorModule>('./executor.ts');

/** A dispatched call that records what it is told; its attempts do what `onAttempt` says. */
function recorder<T>(onAttempt: (instance: { id: string }, attempt: DispatchedAttempt<T>) => void) {
  const told: Array<{ ok: boolean; value: unknown }> = [];
  const attempts: Array<{ id: string; attempt: number }> = [];
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const call: DispatchedCall<T> = {
    attempt(instance, attempt) {
      attempts.push({ id: instance.id, attempt: attempt.attempt });
      onAttempt(instance, attempt);
    },
    resolve(value) {
      told.push({ ok: true, value });
      settle();
    },
    reject(error) {
      told.push({ ok: false, value: error });
      settle();
    },
  };
  return { call, told, attempts, settled };
}

describe('executor.dispatch: the callback form', () => {
  it('a first attempt that resolves at once settles the call with no promise in between', () => {
    const executor = createExecutor({ service: 'users' });
    const source = new FakeSource(instances(2));
    const { call, told } = recorder<string>((instance, attempt) => attempt.resolve(`from ${instance.id}`));
    executor.dispatch(source, call);
    // Synchronously: the first attempt's success goes straight to the call.
    expect(told).toEqual([{ ok: true, value: 'from users-1' }]);
    expect(executor.stats()).toMatchObject({ calls: 1, successes: 1, attempts: 1 });
    expect(executor.activeCalls).toBe(0);
    expect(source.load.of(source.instances[0]!).inflight).toBe(0);
  });

  it('a failed attempt moves to another instance on a later turn, and the call hears only the end', async () => {
    const executor = createExecutor({ service: 'users', retry: { backoff: { initialMs: 0, maxMs: 0 } } });
    const source = new FakeSource(instances(3));
    const { call, told, attempts, settled } = recorder<string>((instance, attempt) => {
      if (instance.id === 'users-1') attempt.reject(netError('ECONNREFUSED'));
      else attempt.resolve(instance.id);
    });
    executor.dispatch(source, call);
    // The retry does not run inside the failing attempt's own stack.
    expect(attempts).toEqual([{ id: 'users-1', attempt: 1 }]);
    await settled;
    expect(attempts).toEqual([
      { id: 'users-1', attempt: 1 },
      { id: 'users-2', attempt: 2 },
    ]);
    expect(told).toEqual([{ ok: true, value: 'users-2' }]);
  });

  it('an attempt that throws counts as rejected', async () => {
    const executor = createExecutor({ service: 'users', retry: { backoff: { initialMs: 0, maxMs: 0 } } });
    const source = new FakeSource(instances(2));
    let n = 0;
    const { call, told, settled } = recorder<string>((instance, attempt) => {
      if (n++ === 0) throw netError('ECONNREFUSED');
      attempt.resolve(instance.id);
    });
    executor.dispatch(source, call);
    await settled;
    expect(told).toEqual([{ ok: true, value: 'users-2' }]);
    expect(executor.stats()).toMatchObject({ attempts: 2, attemptFailures: 1, successes: 1 });
  });

  it('only the first resolve or reject of an attempt counts', async () => {
    const executor = createExecutor({ service: 'users' });
    const source = new FakeSource(instances(2));
    const { call, told } = recorder<string>((_instance, attempt) => {
      attempt.resolve('first');
      attempt.reject(new Error('late'));
      attempt.resolve('second');
    });
    executor.dispatch(source, call);
    await new Promise((resolve) => setImmediate(resolve));
    expect(told).toEqual([{ ok: true, value: 'first' }]);
    expect(executor.stats()).toMatchObject({ attempts: 1, attemptFailures: 0, successes: 1 });
  });

  it('an attempt that never settles is ended by its timeout, and the abort reaches its listener', async () => {
    const clock = new ManualClock();
    const executor = createExecutor({ service: 'users', clock, timeoutMs: 100, retry: false });
    const source = new FakeSource(instances(1));
    const heard: unknown[] = [];
    const { call, told, settled } = recorder<string>((_instance, attempt) => {
      attempt.abortTarget?.addEventListener('abort', {
        handleEvent: () => heard.push(attempt.abortTarget?.reason),
      });
    });
    executor.dispatch(source, call);
    clock.advance(100);
    await settled;
    expect(heard).toHaveLength(1);
    expect(heard[0]).toBeInstanceOf(TimeoutError);
    expect(told).toHaveLength(1);
    expect(told[0]!.ok).toBe(false);
    expect((told[0]!.value as Error).cause ?? told[0]!.value).toBeInstanceOf(TimeoutError);
    expect(executor.activeCalls).toBe(0);
  });

  it("the caller's signal ends the call with its reason and aborts the attempt on the wire", async () => {
    const executor = createExecutor({ service: 'users' });
    const source = new FakeSource(instances(2));
    const controller = new AbortController();
    let aborted = false;
    const { call, told, settled, attempts } = recorder<string>((_instance, attempt) => {
      attempt.abortTarget?.addEventListener('abort', () => {
        aborted = true;
      });
    });
    executor.dispatch(source, call, { signal: controller.signal, idempotent: true });
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await settled;
    expect(aborted).toBe(true);
    expect(told).toEqual([{ ok: false, value: reason }]);
    expect(attempts).toHaveLength(1); // nothing retried after the caller's abort
  });

  it('close() ends a call in flight with its reason', async () => {
    const executor = createExecutor({ service: 'users' });
    const source = new FakeSource(instances(1));
    const { call, told, settled } = recorder<string>(() => undefined);
    executor.dispatch(source, call);
    const reason = new Error('shutting down');
    executor.close(reason);
    await settled;
    expect(told).toEqual([{ ok: false, value: reason }]);
    await expect(executor.idle()).resolves.toBeUndefined();
    // After close, a new call is refused through reject, not thrown.
    const later = recorder<string>(() => undefined);
    executor.dispatch(source, later.call);
    expect(later.told).toEqual([{ ok: false, value: reason }]);
  });

  it('no instance: the call rejects with NoAvailableInstanceError', async () => {
    const executor = createExecutor({ service: 'users', retry: false });
    const { call, told, settled } = recorder<string>(() => undefined);
    executor.dispatch({ pick: () => undefined, load: new LoadStats() }, call);
    await settled;
    expect(told).toHaveLength(1);
    const error = told[0]!.value as Error;
    expect(error.cause ?? error).toBeInstanceOf(NoAvailableInstanceError);
  });

  it('the bulkhead path and a hedged call settle the call once', async () => {
    const guarded = createExecutor({ service: 'users', bulkhead: { maxConcurrent: 1 } });
    const source = new FakeSource(instances(2));
    const one = recorder<string>((instance, attempt) => attempt.resolve(instance.id));
    guarded.dispatch(source, one.call);
    await one.settled;
    expect(one.told).toEqual([{ ok: true, value: 'users-1' }]);

    const clock = new ManualClock();
    const hedging = createExecutor({ service: 'users', clock });
    const hedged = recorder<string>((instance, attempt) => {
      if (instance.id === 'users-2') attempt.resolve('users-2');
    });
    hedging.dispatch(new FakeSource(instances(2)), hedged.call, { idempotent: true, hedgeAfterMs: 10 });
    await vi.waitFor(() => expect(hedged.attempts).toHaveLength(1));
    clock.advance(10);
    await hedged.settled;
    expect(hedged.told).toEqual([{ ok: true, value: 'users-2' }]);
  });

  it('toAttemptFn(call) runs under execute: its attempts settle the promise, a timeout still ends one', async () => {
    const clock = new ManualClock();
    const executor = createExecutor({
      service: 'users',
      clock,
      timeoutMs: 100,
      retry: { backoff: { initialMs: 0, maxMs: 0 } },
    });
    const source = new FakeSource(instances(2));
    // Tried: the first attempt never ends by itself (and does not listen for the abort).
    const { call, attempts } = recorder<string>((instance, attempt) => {
      if (instance.id === 'users-2') attempt.resolve(instance.id);
    });
    const result = executor.execute(source, toAttemptFn(call), { idempotent: true });
    await vi.waitFor(() => expect(attempts).toHaveLength(1));
    clock.advance(100);
    await expect(result).resolves.toBe('users-2');
    expect(attempts.map((a) => a.id)).toEqual(['users-1', 'users-2']);
  });

  it('refuses what is not a DispatchedCall by throwing, and bad options through reject', () => {
    const executor = createExecutor({ service: 'users' });
    const source = new FakeSource(instances(1));
    expect(() => executor.dispatch(source, null as never)).toThrow(ValidationError);
    expect(() => executor.dispatch(source, { attempt() {} } as never)).toThrow(/resolve\(\) and reject\(\)/);
    const { call, told, attempts } = recorder<string>(() => undefined);
    executor.dispatch(source, call, { hedgeAfterMs: -1 });
    expect(told).toHaveLength(1);
    expect(told[0]!.value).toBeInstanceOf(ValidationError);
    expect(attempts).toHaveLength(0);
    expect(executor.activeCalls).toBe(0);
  });
});
