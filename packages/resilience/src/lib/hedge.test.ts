import { AllAttemptsFailedError, ManualClock, type ServiceInstance } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { createExecutor } from './executor.ts';
import type { AttemptContext } from './executor-types.ts';
import { FakeSource, instances } from './fake-source.test-support.ts';

function setup() {
  const clock = new ManualClock();
  const executor = createExecutor({
    service: 'users',
    clock,
    retry: { backoff: { initialMs: 0, maxMs: 0 } },
  });
  return { clock, executor, source: new FakeSource(instances(3)) };
}

/** users-1 answers after 1 s (unless aborted); the others answer after 10 ms. */
function slowFirst(clock: ManualClock, aborted: string[]) {
  return (instance: ServiceInstance, ctx: AttemptContext) =>
    new Promise<string>((resolve, reject) => {
      const ms = instance.id === 'users-1' ? 1_000 : 10;
      const timer = clock.setTimeout(() => resolve(instance.id), ms);
      ctx.signal.addEventListener('abort', () => {
        clock.clearTimeout(timer);
        aborted.push(instance.id);
        reject(ctx.signal.reason);
      });
    });
}

describe('hedging', () => {
  it('a second attempt on another instance wins and the slow one is aborted', async () => {
    const { clock, executor, source } = setup();
    const hedges: Array<string | undefined> = [];
    executor.events.on('hedge', (event) => hedges.push(event.instanceId));
    const aborted: string[] = [];
    const result = executor.execute(source, slowFirst(clock, aborted), {
      idempotent: true,
      hedgeAfterMs: 50,
    });
    await flush();
    clock.advance(50);
    await flush();
    expect(hedges).toEqual(['users-2']);
    clock.advance(10);
    await expect(result).resolves.toBe('users-2');
    expect(aborted).toEqual(['users-1']);
    expect(executor.stats()).toMatchObject({ hedges: 1, attempts: 2, successes: 1, failures: 0 });
    expect(source.load.of('users-1')).toMatchObject({ inflight: 0, failed: 0 }); // cancelled, not failed
    expect(executor.stats().attemptFailures).toBe(0);
  });

  it('no hedge when the first answer comes in time', async () => {
    const { clock, executor, source } = setup();
    source.instances.reverse(); // users-3 first: fast
    const aborted: string[] = [];
    const result = executor.execute(source, slowFirst(clock, aborted), {
      idempotent: true,
      hedgeAfterMs: 50,
    });
    await flush();
    clock.advance(10);
    await expect(result).resolves.toBe('users-3');
    clock.advance(100);
    await flush();
    expect(executor.stats()).toMatchObject({ hedges: 0, attempts: 1 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('is never used for a non-idempotent call', async () => {
    const { clock, executor, source } = setup();
    const aborted: string[] = [];
    const result = executor.execute(source, slowFirst(clock, aborted), { hedgeAfterMs: 50 });
    await flush();
    clock.advance(1_000);
    await expect(result).resolves.toBe('users-1');
    expect(executor.stats()).toMatchObject({ hedges: 0, attempts: 1 });
  });

  it('when both hedged attempts fail the call goes on retrying with the last error', async () => {
    const { clock, executor, source } = setup();
    const seen: string[] = [];
    const result = executor.execute(
      source,
      async (instance, ctx) => {
        seen.push(`${instance.id}#${ctx.attempt}`);
        if (ctx.attempt < 3) {
          await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 100));
          throw Object.assign(new Error('bad gateway'), { statusCode: 502 });
        }
        return 'third time';
      },
      { idempotent: true, hedgeAfterMs: 50 },
    );
    await flush();
    clock.advance(50);
    await flush();
    clock.advance(100);
    await flush();
    await expect(result).resolves.toBe('third time');
    expect(seen).toEqual(['users-1#1', 'users-2#2', 'users-3#3']);
  });

  it('a hedged round whose attempts all fail lists both in AllAttemptsFailedError', async () => {
    const clock = new ManualClock();
    const executor = createExecutor({ service: 'users', clock, retry: { maxAttempts: 2 } });
    const source = new FakeSource(instances(3));
    const result = executor
      .execute(
        source,
        async (instance) => {
          await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 100));
          throw Object.assign(new Error(`bad gateway from ${instance.id}`), { statusCode: 502 });
        },
        { idempotent: true, hedgeAfterMs: 50 },
      )
      .catch((e: unknown) => e);
    await flush();
    clock.advance(50);
    await flush();
    clock.advance(100);
    await flush();
    const error = await result;
    expect(error).toBeInstanceOf(AllAttemptsFailedError);
    expect((error as AllAttemptsFailedError).attempts.map((a) => [a.attempt, a.instanceId])).toEqual([
      [1, 'users-1'],
      [2, 'users-2'],
    ]);
  });
});

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
