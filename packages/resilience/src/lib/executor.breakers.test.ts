import { ManualClock, type ServiceInstance } from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createExecutor } from './executor.ts';
import type { AttemptContext, Executor, ExecutorOptions } from './executor-types.ts';
import { FakeSource, instances, netError, statusError } from './fake-source.test-support.ts';

const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

function breakerLog(executor: Executor): string[] {
  const log: string[] = [];
  for (const name of ['breakerOpen', 'breakerHalfOpen', 'breakerClose'] as const) {
    executor.events.on(name, (event) => log.push(`${name}:${event.instanceId}`));
  }
  return log;
}

function setup(extra: Partial<ExecutorOptions> = {}) {
  const clock = new ManualClock();
  const executor = createExecutor({
    service: 'users',
    clock,
    retry: { backoff: { initialMs: 0, maxMs: 0 } },
    circuitBreaker: { consecutiveFailures: 1, halfOpenAfterMs: 1_000 },
    ...extra,
  });
  return { clock, executor, log: breakerLog(executor) };
}

/** Opens users-1's breaker with one refused attempt, then lets its half-open delay pass. */
async function openThenDue(executor: Executor, source: FakeSource): Promise<void> {
  await executor
    .execute(source, async (instance) => {
      if (instance.id === 'users-1') throw netError('ECONNREFUSED');
      return instance.id;
    })
    .catch(() => undefined);
  expect(executor.isOpen('users-1')).toBe(true);
  advance(1_000);
  expect(executor.isOpen('users-1')).toBe(false);
}

/** users-1 hangs (until aborted, if `abortable`); the others answer at once. */
function hangOnFirst(started: string[], abortable = true) {
  return (instance: ServiceInstance, ctx: AttemptContext) => {
    started.push(instance.id);
    if (instance.id !== 'users-1') return Promise.resolve(instance.id);
    return new Promise<string>((_resolve, reject) => {
      if (abortable) ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    });
  };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('executor: breaker semantics', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('a hedge that wins against a hanging probe is no verdict: the breaker does not close', async () => {
    const { clock, executor, log } = setup();
    const source = new FakeSource(instances(2));
    await openThenDue(executor, source);
    source.instances.sort((a, b) => a.id.localeCompare(b.id));
    const started: string[] = [];
    const call = executor.execute(source, hangOnFirst(started), { idempotent: true, hedgeAfterMs: 50 });
    await flush();
    expect(started).toEqual(['users-1']); // the probe
    clock.advance(50);
    await expect(call).resolves.toBe('users-2');
    await flush();
    expect(log).toEqual(['breakerOpen:users-1', 'breakerHalfOpen:users-1']);
    expect(executor.stats().breakersOpen).toBe(1);
    // Still half-open with no probe in flight: the next call may probe it, and its answer decides.
    expect(executor.isOpen('users-1')).toBe(false);
    source.picks.length = 0;
    await executor.execute(source, async (instance) => instance.id);
    await executor.execute(source, async (instance) => instance.id);
    expect(source.picks).toContain('users-1');
    expect(log.at(-1)).toBe('breakerClose:users-1');
    executor.close();
  });

  it('a caller abort during the probe is no verdict either', async () => {
    const { executor, log } = setup();
    const source = new FakeSource(instances(2));
    await openThenDue(executor, source);
    source.instances.sort((a, b) => a.id.localeCompare(b.id));
    const controller = new AbortController();
    const started: string[] = [];
    const call = executor.execute(source, hangOnFirst(started, false), {
      idempotent: true,
      signal: controller.signal,
    });
    await flush();
    expect(started).toEqual(['users-1']);
    controller.abort(new Error('caller left'));
    await expect(call).rejects.toThrow('caller left');
    await flush();
    expect(log).toEqual(['breakerOpen:users-1', 'breakerHalfOpen:users-1']);
    expect(executor.stats().breakersOpen).toBe(1);
    executor.close();
  });

  it('a failed attempt never waits for another call’s probe, and its in-flight count is released', async () => {
    const { executor, log } = setup({
      retry: false,
      circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 1_000 },
    });
    const source = new FakeSource(instances(1));
    // A slow attempt starts while the breaker is closed…
    let failSlow!: () => void;
    const slow = executor.execute(
      source,
      () => new Promise<string>((_resolve, reject) => (failSlow = () => reject(netError('ECONNRESET')))),
      { idempotent: true },
    );
    await flush();
    // …two others open the breaker, and after the delay a probe goes out and hangs.
    for (let i = 0; i < 2; i++) {
      await executor.execute(source, () => Promise.reject(netError('ECONNREFUSED'))).catch(() => undefined);
    }
    advance(1_000);
    const probe = executor.execute(source, () => new Promise<string>(() => undefined));
    await flush();
    expect(log).toEqual(['breakerOpen:users-1', 'breakerHalfOpen:users-1']);
    // The slow attempt now fails: its call must end at once, not when the probe settles.
    failSlow();
    const outcome = await Promise.race([
      slow.then(
        () => 'resolved',
        () => 'rejected',
      ),
      flush().then(() => 'still waiting'),
    ]);
    expect(outcome).toBe('rejected');
    expect(source.load.of('users-1').inflight).toBe(1); // only the hanging probe
    probe.catch(() => undefined);
    executor.close();
  });

  it('429s never open breakers: "slow down" is not "broken"', async () => {
    const { executor, log } = setup({ circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 60_000 } });
    const source = new FakeSource(instances(3));
    for (let i = 0; i < 15; i++) {
      await executor
        .execute(source, () => Promise.reject(statusError(429)), { idempotent: true })
        .catch(() => undefined);
    }
    expect(log).toEqual([]);
    expect(executor.stats().breakersOpen).toBe(0);
    await expect(executor.execute(source, async (instance) => instance.id)).resolves.toMatch(/users-/);
  });

  it('502/503/504, refusals and attempt timeouts do count', async () => {
    const { executor } = setup({ retry: false, circuitBreaker: { consecutiveFailures: 1 } });
    const source = new FakeSource(instances(4));
    const failures = [statusError(502), statusError(503), statusError(504), netError('ECONNREFUSED')];
    for (const failure of failures) {
      await executor
        .execute(source, () => Promise.reject(failure), { idempotent: true })
        .catch(() => undefined);
    }
    expect(executor.stats().breakersOpen).toBe(4);
  });

  it('a probe that times out is a failure: the breaker opens again', async () => {
    const { clock, executor, log } = setup({ timeoutMs: 100 });
    const source = new FakeSource(instances(2));
    await openThenDue(executor, source);
    source.instances.sort((a, b) => a.id.localeCompare(b.id));
    const call = executor.execute(source, hangOnFirst([]), { idempotent: true });
    await flush();
    clock.advance(100);
    await expect(call).resolves.toBe('users-2');
    expect(log).toEqual(['breakerOpen:users-1', 'breakerHalfOpen:users-1', 'breakerOpen:users-1']);
    expect(executor.isOpen('users-1')).toBe(true);
    executor.close();
  });

  it('halfOpenProbes: 2 really lets two probes run at once, and no third', async () => {
    const { executor } = setup({
      circuitBreaker: { consecutiveFailures: 1, halfOpenAfterMs: 1_000, halfOpenProbes: 2 },
      retry: false,
    });
    const source = new FakeSource(instances(1));
    await executor.execute(source, () => Promise.reject(netError('ECONNREFUSED'))).catch(() => undefined);
    advance(1_000);
    const gates: Array<() => void> = [];
    const slowOk = () => new Promise<string>((resolve) => gates.push(() => resolve('ok')));
    const first = executor.execute(source, slowOk);
    const second = executor.execute(source, slowOk);
    await flush();
    expect(gates).toHaveLength(2); // both probes started before either answered
    expect(executor.isOpen('users-1')).toBe(true); // full: a third caller is kept away
    for (const gate of gates) gate();
    await expect(Promise.all([first, second])).resolves.toEqual(['ok', 'ok']);
    expect(executor.isOpen('users-1')).toBe(false);
  });
});
