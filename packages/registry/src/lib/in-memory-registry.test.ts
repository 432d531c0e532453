import { ManualClock, type ServiceInstance, ServiceNotFoundError, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { InMemoryRegistry } from './in-memory-registry.ts';

const users = (id: string, extra: Partial<ServiceInstance> = {}): ServiceInstance => ({
  id,
  service: 'users',
  host: '127.0.0.1',
  port: 8080,
  ...extra,
});
const ids = (list: readonly ServiceInstance[]) => list.map((instance) => instance.id).sort();

describe('InMemoryRegistry', () => {
  it('upserts by id: a second register replaces the first', async () => {
    const registry = new InMemoryRegistry();
    await registry.register(users('u1', { port: 1000 }));
    await registry.register(users('u1', { port: 2000 }));
    await registry.register(users('u2'));
    const list = await registry.resolve('users');
    expect(ids(list)).toEqual(['u1', 'u2']);
    expect(list.find((i) => i.id === 'u1')?.port).toBe(2000);
  });

  it('resolves only up instances; unknown service → ServiceNotFoundError; emptied service → []', async () => {
    const registry = new InMemoryRegistry();
    await expect(registry.resolve('users')).rejects.toBeInstanceOf(ServiceNotFoundError);
    await registry.register(users('u1'));
    await registry.register(users('u2', { status: 'starting' }));
    await registry.register(users('u3', { status: 'up' }));
    expect(ids(await registry.resolve('users'))).toEqual(['u1', 'u3']);
    await registry.deregister('users', 'u1');
    await registry.deregister('users', 'u2');
    await registry.deregister('users', 'u3');
    expect(await registry.resolve('users')).toEqual([]);
    expect(registry.services()).toEqual(['users']);
  });

  it.each([
    ['empty id', { id: '' }, 'id'],
    ['port 0', { port: 0 }, 'port'],
    ['port 70000', { port: 70000 }, 'port'],
    ['port 80.5', { port: 80.5 }, 'port'],
    ['weight 0', { weight: 0 }, 'weight'],
    ['weight Infinity', { weight: Number.POSITIVE_INFINITY }, 'weight'],
    ['status "sleeping"', { status: 'sleeping' }, 'status'],
    ['empty host', { host: '' }, 'host'],
    ['empty service', { service: '' }, 'service'],
    ['metadata with a number', { metadata: { a: 1 } }, 'metadata.a'],
  ])('rejects %s with a ValidationError naming the field and keeps the registry unchanged', async (_what, patch, field) => {
    const registry = new InMemoryRegistry();
    await registry.register(users('keep'));
    const bad = { ...users('bad'), ...patch } as unknown as ServiceInstance;
    const error = await registry.register(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect(ids(await registry.resolve('users'))).toEqual(['keep']);
  });

  it.each([
    ['0', 0],
    ['-5', -5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '1000'],
    // Above 2^31-1 Node timers fire every 1 ms (TimeoutOverflowWarning): a CPU burn, not a TTL.
    ['2^31', 2 ** 31],
    ['1e12', 1e12],
  ])('rejects ttlMs %s and registers nothing', async (_what, ttlMs) => {
    const registry = new InMemoryRegistry();
    const error = await registry.register(users('u1'), { ttlMs: ttlMs as number }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('ttlMs');
    expect(registry.services()).toEqual([]);
  });

  it('expires an instance whose heartbeats stop, driven by the injected clock', async () => {
    const clock = new ManualClock();
    const registry = new InMemoryRegistry({ clock });
    const seen: string[][] = [];
    registry.watch('users', (list) => seen.push(ids(list)));
    await registry.register(users('u1'), { ttlMs: 1000 });
    await registry.register(users('u2'), { ttlMs: 1000 });
    await registry.register(users('forever'));
    clock.advance(800);
    await registry.heartbeat('users', 'u1');
    clock.advance(800); // u2 is 1600 ms old, u1 got a heartbeat 800 ms ago
    expect(ids(await registry.resolve('users'))).toEqual(['forever', 'u1']);
    clock.advance(300);
    expect(ids(await registry.resolve('users'))).toEqual(['forever']);
    // The sweep timer (not a read) produced these notifications, in order.
    expect(seen).toEqual([[], ['u1'], ['u1', 'u2'], ['forever', 'u1', 'u2'], ['forever', 'u1'], ['forever']]);
    await expect(registry.heartbeat('users', 'u2')).rejects.toMatchObject({
      name: 'ServiceNotFoundError',
      service: 'users',
      instanceId: 'u2',
    });
    await registry.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('expiry follows every registration by its own deadline through renewals, replacements and removals', async () => {
    const clock = new ManualClock();
    const registry = new InMemoryRegistry({ clock });
    // 1,000 instances with TTLs 1..1000 ms: each leaves exactly when its own TTL runs out.
    for (let i = 1; i <= 1000; i++) await registry.register(users(`t${i}`), { ttlMs: i });
    clock.advance(500);
    expect((await registry.resolve('users')).length).toBe(500);
    // Replaced with a longer TTL: the old, earlier deadline must not remove the new registration.
    await registry.register(users('t600', { port: 9000 }), { ttlMs: 10_000 });
    // Renewed by a heartbeat: lives on past its first deadline.
    await registry.heartbeat('users', 't700');
    // Removed and registered again without a TTL: never expires.
    await registry.deregister('users', 't800');
    await registry.register(users('t800'));
    clock.advance(500);
    expect(ids(await registry.resolve('users'))).toEqual(['t600', 't700', 't800']);
    clock.advance(200); // t700's renewed deadline (500 + 700) has passed
    expect(ids(await registry.resolve('users'))).toEqual(['t600', 't800']);
    await registry.close();
  });

  it('re-registering one id many times keeps it registered exactly once (stale deadlines are dropped)', async () => {
    const clock = new ManualClock();
    const registry = new InMemoryRegistry({ clock });
    for (let i = 0; i < 20_000; i++) {
      // Every one expires at 30,000 ms: each replaces the last, with a shorter TTL each time.
      await registry.register(users('again'), { ttlMs: 30_000 - i });
      clock.advance(1);
    }
    expect(ids(await registry.resolve('users'))).toEqual(['again']);
    clock.advance(9_999);
    expect(ids(await registry.resolve('users'))).toEqual(['again']);
    clock.advance(1);
    expect(ids(await registry.resolve('users'))).toEqual([]);
    await registry.close();
  });

  it('heartbeat and deregister of unknown instances throw ServiceNotFoundError with the instance id', async () => {
    const registry = new InMemoryRegistry();
    await expect(registry.heartbeat('users', 'ghost')).rejects.toMatchObject({ instanceId: 'ghost' });
    await expect(registry.deregister('users', 'ghost')).rejects.toBeInstanceOf(ServiceNotFoundError);
  });

  it('watch: current list at subscribe, then every change in order, also when a listener writes', async () => {
    const registry = new InMemoryRegistry();
    await registry.register(users('u1'));
    const first: string[][] = [];
    const second: string[][] = [];
    registry.watch('users', (list) => {
      first.push(ids(list));
      // A listener that registers from inside its callback must not reorder what others see.
      if (list.length === 2) void registry.register(users('u3'));
    });
    const stop = registry.watch('users', (list) => second.push(ids(list)));
    await registry.register(users('u2'));
    await registry.register(users('u2')); // same data: no change, no notification
    stop();
    await registry.deregister('users', 'u1');
    expect(first).toEqual([['u1'], ['u1', 'u2'], ['u1', 'u2', 'u3'], ['u2', 'u3']]);
    expect(second).toEqual([['u1'], ['u1', 'u2'], ['u1', 'u2', 'u3']]);
  });

  it('index grows on every change only, and waitForChange answers on change, timeout or abort', async () => {
    const clock = new ManualClock();
    const registry = new InMemoryRegistry({ clock });
    expect(registry.indexOf('users')).toBe(0);
    const appear = registry.waitForChange('users', 0, { timeoutMs: 5000 });
    await registry.register(users('u1'));
    expect(await appear).toBe(1);
    await registry.heartbeat('users', 'u1');
    expect(registry.indexOf('users')).toBe(1);

    const timedOut = registry.waitForChange('users', 1, { timeoutMs: 5000 });
    clock.advance(5000);
    expect(await timedOut).toBe(1);

    const controller = new AbortController();
    const aborted = registry.waitForChange('users', 1, { timeoutMs: 5000, signal: controller.signal });
    controller.abort(new Error('client left'));
    await expect(aborted).rejects.toThrow('client left');
    expect(clock.pendingTimers).toBe(0);

    // A caller ahead of us (e.g. after a registry restart) gets an answer at once.
    expect(await registry.waitForChange('users', 99, { timeoutMs: 5000 })).toBe(1);
  });

  it('close() ends pending waits and stops the sweep timer', async () => {
    const clock = new ManualClock();
    const registry = new InMemoryRegistry({ clock });
    await registry.register(users('u1'), { ttlMs: 1000 });
    const pending = registry.waitForChange('users', 1, { timeoutMs: 60_000 });
    await registry.close();
    expect(await pending).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with the abort reason when the signal is already aborted', async () => {
    const registry = new InMemoryRegistry();
    const signal = AbortSignal.abort(new Error('stop'));
    await expect(registry.resolve('users', { signal })).rejects.toThrow('stop');
    await expect(registry.register(users('u1'), { signal })).rejects.toThrow('stop');
    expect(registry.services()).toEqual([]);
  });
});
