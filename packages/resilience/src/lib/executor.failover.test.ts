import { ManualClock, type ServiceInstance } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { createExecutor } from './executor.ts';
import type { AttemptContext, ExecutorOptions } from './executor-types.ts';
import { FakeSource, instances, netError, statusError } from './fake-source.test-support.ts';

// Failover is as fast as a proxy's redispatch: an instance-local failure goes to a different
// instance at once; backoff is only for retrying the same instance or a service-wide overload.

function setup(extra: Partial<ExecutorOptions> = {}) {
  const clock = new ManualClock();
  const executor = createExecutor({
    service: 'users',
    clock,
    retry: { maxAttempts: 3, backoff: { initialMs: 100, maxMs: 1_000, jitter: 'none' } },
    ...extra,
  });
  const delays: number[] = [];
  executor.events.on('retry', (event) => delays.push(event.delayMs));
  return { clock, executor, delays };
}

/** Fails with the scripted errors in turn (a function: a fresh error per attempt), then answers. */
function scripted(...errors: Array<(ctx: AttemptContext) => unknown>) {
  const seen: string[] = [];
  const fn = async (instance: ServiceInstance, ctx: AttemptContext) => {
    seen.push(instance.id);
    const error = errors.shift()?.(ctx);
    if (error !== undefined) throw error;
    return instance.id;
  };
  return { fn, seen };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('executor: failover without backoff', () => {
  it.each([
    ['refused', () => netError('ECONNREFUSED')],
    ['reset', () => netError('ECONNRESET')],
    ['502', () => statusError(502)],
    ['a single 503', () => statusError(503, { 'retry-after': '5' })],
    ['a single 429', () => statusError(429, { 'retry-after': '5' })],
  ])('%s on two instances in a row: each goes to a fresh instance at once', async (_name, failure) => {
    const { clock, executor, delays } = setup();
    const source = new FakeSource(instances(3));
    const { fn, seen } = scripted(failure, () => netError('ECONNREFUSED'));
    const call = executor.execute(source, fn, { idempotent: true });
    await flush();
    expect(seen).toEqual(['users-1', 'users-2', 'users-3']);
    expect(delays).toEqual([0, 0]);
    expect(clock.now()).toBe(0);
    await expect(call).resolves.toBe('users-3');
    executor.close();
  });

  it('an attempt timeout fails over at once too', async () => {
    const { clock, executor, delays } = setup({ timeoutMs: 50 });
    const source = new FakeSource(instances(3));
    const seen: string[] = [];
    const call = executor.execute(
      source,
      (instance) => {
        seen.push(instance.id);
        return instance.id === 'users-1'
          ? new Promise<string>(() => undefined)
          : Promise.resolve(instance.id);
      },
      { idempotent: true },
    );
    await flush();
    clock.advance(50);
    await flush();
    expect(seen).toEqual(['users-1', 'users-2']);
    expect(delays).toEqual([0]);
    await expect(call).resolves.toBe('users-2');
    executor.close();
  });

  it('backs off when the retry has to reuse an instance already tried', async () => {
    const { clock, executor, delays } = setup();
    const source = new FakeSource(instances(2));
    const { fn, seen } = scripted(
      () => netError('ECONNREFUSED'),
      () => netError('ECONNREFUSED'),
    );
    const call = executor.execute(source, fn);
    await flush();
    expect(seen).toEqual(['users-1', 'users-2']); // the failover was immediate
    expect(delays).toEqual([0, 100]);
    clock.advance(99);
    await flush();
    expect(seen).toHaveLength(2);
    clock.advance(1);
    await expect(call).resolves.toBe('users-1');
    executor.close();
  });

  it('backs off on a service-wide overload: a second 429/503 from another instance, Retry-After honoured', async () => {
    const { clock, executor, delays } = setup();
    const source = new FakeSource(instances(3));
    const { fn, seen } = scripted(
      () => statusError(503),
      () => statusError(429, { 'retry-after': '30' }),
    );
    const call = executor.execute(source, fn, { idempotent: true });
    await flush();
    expect(seen).toEqual(['users-1', 'users-2']);
    expect(delays).toEqual([0, 1_000]); // 30 s asked, capped at backoff.maxMs
    clock.advance(1_000);
    await expect(call).resolves.toBe('users-3');
    executor.close();
  });

  it('the retry budget still bounds immediate failovers', async () => {
    const { executor } = setup({
      retry: { maxAttempts: 5 },
      circuitBreaker: false,
      retryBudget: { ratio: 0, minRetriesPerSecond: 0.1, windowMs: 10_000 }, // one retry per window
    });
    const source = new FakeSource(instances(5));
    let attempts = 0;
    const down = async () => {
      attempts++;
      throw netError('ECONNREFUSED');
    };
    for (let i = 0; i < 10; i++) await executor.execute(source, down).catch(() => undefined);
    expect(attempts).toBe(10 + 1);
  });
});
