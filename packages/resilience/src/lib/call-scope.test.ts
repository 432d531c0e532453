import { ManualClock, NotRetriedError, type ServiceInstance, TimeoutError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { createExecutor } from './executor.ts';
import type { AttemptContext, ExecutorOptions } from './executor-types.ts';
import { FakeSource, instances } from './fake-source.test-support.ts';

// Timeouts and deadlines, driven by a ManualClock: nothing here waits on wall time.

const setup = (extra: Partial<ExecutorOptions>) => {
  const clock = new ManualClock();
  const executor = createExecutor({
    service: 'users',
    clock,
    retry: { backoff: { initialMs: 0, maxMs: 0 } },
    ...extra,
  });
  return { clock, executor, source: new FakeSource(instances(3)) };
};

/** Hangs until its signal aborts, then rejects with the signal's reason (a well-behaved fn). */
function hangs(log: Array<{ id: string; reason?: unknown }>) {
  return (instance: ServiceInstance, ctx: AttemptContext) =>
    new Promise<string>((_resolve, reject) => {
      const entry: { id: string; reason?: unknown } = { id: instance.id };
      log.push(entry);
      ctx.signal.addEventListener('abort', () => {
        entry.reason = ctx.signal.reason;
        reject(ctx.signal.reason);
      });
    });
}

describe('attempt timeout', () => {
  it('aborts the attempt through its signal and retries an idempotent call elsewhere', async () => {
    const { clock, executor, source } = setup({ timeoutMs: 100 });
    const timeouts: string[] = [];
    executor.events.on('timeout', (event) => timeouts.push(`${event.scope}:${event.instanceId}`));
    const log: Array<{ id: string; reason?: unknown }> = [];
    const slowThenFast = (instance: ServiceInstance, ctx: AttemptContext) =>
      ctx.attempt === 1 ? hangs(log)(instance, ctx) : Promise.resolve(`fast from ${instance.id}`);
    const result = executor.execute(source, slowThenFast, { idempotent: true });
    await flush();
    clock.advance(99);
    await flush();
    expect(log[0]!.reason).toBeUndefined();
    clock.advance(1);
    await expect(result).resolves.toBe('fast from users-2');
    expect(log[0]!.reason).toBeInstanceOf(TimeoutError);
    expect(log[0]!.reason).toMatchObject({ scope: 'attempt', timeoutMs: 100, instanceId: 'users-1' });
    expect(timeouts).toEqual(['attempt:users-1']);
    expect(executor.stats().timeouts).toBe(1);
  });

  it('rejects on time even when the function ignores its signal', async () => {
    const { clock, executor, source } = setup({ timeoutMs: 50, retry: false });
    const result = executor.execute(source, () => new Promise<string>(() => undefined), { idempotent: true });
    await flush();
    clock.advance(50);
    await expect(result).rejects.toMatchObject({
      name: 'AllAttemptsFailedError',
      cause: { name: 'TimeoutError', scope: 'attempt' },
    });
  });

  it('a timed-out non-idempotent call is not re-sent: it may have reached the instance', async () => {
    const { clock, executor, source } = setup({ timeoutMs: 100 });
    const log: Array<{ id: string; reason?: unknown }> = [];
    const result = executor.execute(source, hangs(log));
    await flush();
    clock.advance(100);
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotRetriedError);
    expect((error as NotRetriedError).cause).toBeInstanceOf(TimeoutError);
    expect(log).toHaveLength(1);
  });

  it('leaves no timer behind once the attempts are over and their time has passed', async () => {
    const { clock, executor, source } = setup({ timeoutMs: 100, deadlineMs: 1_000 });
    for (let i = 0; i < 20; i++) await executor.execute(source, async () => 'ok');
    expect(clock.pendingTimers).toBeLessThanOrEqual(2); // one shared timer per queue, not one per call
    clock.advance(1_000);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('call deadline', () => {
  it('aborts the running attempt with a call-scoped TimeoutError and stops retrying', async () => {
    const { clock, executor, source } = setup({ deadlineMs: 300, timeoutMs: 1_000 });
    const log: Array<{ id: string; reason?: unknown }> = [];
    const result = executor.execute(source, hangs(log), { idempotent: true });
    await flush();
    clock.advance(300);
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ scope: 'call', timeoutMs: 300 });
    expect(log).toHaveLength(1);
    expect(log[0]!.reason).toBe(error);
  });

  it('cuts a backoff sleep short', async () => {
    const clock = new ManualClock();
    const executor = createExecutor({
      service: 'users',
      clock,
      deadlineMs: 200,
      retry: { backoff: { initialMs: 5_000, maxMs: 5_000, jitter: 'none' } },
    });
    const source = new FakeSource(instances(2));
    let attempts = 0;
    const result = executor.execute(source, async () => {
      attempts++;
      throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    });
    await flush();
    clock.advance(200);
    await expect(result).rejects.toMatchObject({ name: 'TimeoutError', scope: 'call' });
    // The first refusal fails over at once; the second one's 5 s backoff is what the deadline cuts.
    expect(attempts).toBe(2);
  });
});

describe('signals', () => {
  it('close() aborts a call in flight that has no timeout, deadline or caller signal', async () => {
    // Before: such a call got a shared never-aborted signal, so close() could not reach it.
    const executor = createExecutor({ service: 'users' });
    const log: Array<{ id: string; reason?: unknown }> = [];
    const result = executor.execute(new FakeSource(instances(1)), hangs(log), { idempotent: true });
    await flush();
    const reason = new Error('shutting down');
    executor.close(reason);
    await expect(result).rejects.toBe(reason);
    expect(log).toEqual([{ id: 'users-1', reason }]);
    await expect(executor.execute(new FakeSource(instances(1)), async () => 1)).rejects.toBe(reason);
  });

  it('with a timeout, each attempt gets its own signal', async () => {
    const { executor, source } = setup({ timeoutMs: 1_000 });
    const seen: AbortSignal[] = [];
    for (let i = 0; i < 3; i++) await executor.execute(source, async (_i, ctx) => seen.push(ctx.signal));
    expect(new Set(seen).size).toBe(3);
  });
});

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('abortTarget', () => {
  it('aborts like the signal, through a plain listener, once; listeners added later are not called', async () => {
    const { clock, executor, source } = setup({ timeoutMs: 100, retry: false });
    const heard: unknown[] = [];
    let target: AttemptContext['abortTarget'];
    const result = executor.execute(
      source,
      (_instance, ctx) => {
        target = ctx.abortTarget;
        // As undici does: the work settles once the listener fires (the executor trusts it to).
        return new Promise<string>((_resolve, reject) => {
          const first = () => heard.push(['first', ctx.abortTarget?.reason]);
          const removed = () => heard.push('removed');
          target?.addEventListener('abort', first, { once: true });
          target?.addEventListener('abort', removed);
          target?.addEventListener('abort', () => {
            heard.push('second');
            reject(ctx.abortTarget?.reason);
          });
          target?.removeEventListener('abort', removed);
        });
      },
      { idempotent: true },
    );
    await flush();
    expect(target?.aborted).toBe(false);
    clock.advance(100);
    await expect(result).rejects.toMatchObject({ cause: { name: 'TimeoutError' } });
    expect(heard).toEqual([['first', expect.any(TimeoutError)], 'second']);
    expect(target?.aborted).toBe(true);
    target?.addEventListener('abort', () => heard.push('late'));
    expect(heard).toHaveLength(2);
  });

  it('is there even when nothing but close() can abort the attempt', async () => {
    const executor = createExecutor({ service: 'users' });
    let target: AttemptContext['abortTarget'];
    const heard: unknown[] = [];
    const result = executor.execute(new FakeSource(instances(1)), (_i, ctx) => {
      target = ctx.abortTarget;
      return new Promise<never>((_resolve, reject) =>
        target?.addEventListener('abort', () => {
          heard.push(target?.reason);
          reject(target?.reason);
        }),
      );
    });
    await flush();
    executor.close();
    await expect(result).rejects.toThrow(/executor is closed/);
    expect(heard).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/executor is closed/) }),
    ]);
  });

  it('a function that never listens is still cut off at the timeout, even if its work ignores it', async () => {
    const { clock, executor, source } = setup({ timeoutMs: 100, retry: false });
    const result = executor.execute(source, () => new Promise<string>(() => undefined));
    await flush();
    clock.advance(100);
    await expect(result).rejects.toMatchObject({ cause: { name: 'TimeoutError' } });
  });
});
