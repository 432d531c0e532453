import { CircuitOpenError } from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveBreakerOptions } from './breaker-policy.ts';
import { classifyError } from './classify-error.ts';
import { netError, statusError } from './fake-source.test-support.ts';
import { type BreakerListener, InstanceBreakers } from './instance-breakers.ts';

const isFailure = (error: unknown) => classifyError(error).retryable;
const refused = () => Promise.reject(netError('ECONNREFUSED'));
const ok = () => Promise.resolve('ok');

function recorder(): BreakerListener & { log: string[] } {
  const log: string[] = [];
  return { log, onBreakerChange: (change, id, attempt) => log.push(`${change}:${id}:${attempt}`) };
}

async function fail(breakers: InstanceBreakers, id: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await breakers.execute(id, i + 1, refused).catch(() => undefined);
}

const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

describe('InstanceBreakers', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('opens after N consecutive failures, half-opens after the delay, closes on a good probe', async () => {
    const events = recorder();
    const options = resolveBreakerOptions(
      { consecutiveFailures: 3, halfOpenAfterMs: 1_000 },
      'circuitBreaker',
    );
    const breakers = new InstanceBreakers('users', options, isFailure, events);
    await fail(breakers, 'u1', 2);
    expect(breakers.isOpen('u1')).toBe(false);
    await fail(breakers, 'u1', 1);
    expect(breakers.isOpen('u1')).toBe(true);
    expect(breakers.openCount).toBe(1);
    expect(events.log).toEqual(['open:u1:1']);
    await expect(breakers.execute('u1', 4, ok)).rejects.toBeInstanceOf(CircuitOpenError);

    advance(999);
    expect(breakers.isOpen('u1')).toBe(true);
    advance(1);
    expect(breakers.isOpen('u1')).toBe(false); // due for a probe: routable again
    await expect(breakers.execute('u1', 5, ok)).resolves.toBe('ok');
    expect(events.log).toEqual(['open:u1:1', 'halfOpen:u1:5', 'close:u1:5']);
    expect(breakers.openCount).toBe(0);
    expect(breakers.isOpen('u2')).toBe(false); // other instances are independent
  });

  it('a failed probe opens again for another delay', async () => {
    const options = resolveBreakerOptions({ consecutiveFailures: 1, halfOpenAfterMs: 500 }, 'circuitBreaker');
    const breakers = new InstanceBreakers('users', options, isFailure);
    await fail(breakers, 'u1', 1);
    advance(500);
    await expect(breakers.execute('u1', 2, refused)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(breakers.isOpen('u1')).toBe(true);
    advance(499);
    expect(breakers.isOpen('u1')).toBe(true);
  });

  it('keeps a half-open instance out of picks while its probe is in flight', async () => {
    const options = resolveBreakerOptions({ consecutiveFailures: 1, halfOpenAfterMs: 100 }, 'circuitBreaker');
    const breakers = new InstanceBreakers('users', options, isFailure);
    await fail(breakers, 'u1', 1);
    advance(100);
    let release!: () => void;
    const probe = breakers.execute('u1', 2, () => new Promise<string>((r) => (release = () => r('late'))));
    expect(breakers.isOpen('u1')).toBe(true);
    release();
    await expect(probe).resolves.toBe('late');
    expect(breakers.isOpen('u1')).toBe(false);
  });

  it('halfOpenProbes lets that many callers at a half-open instance, no more', async () => {
    const options = resolveBreakerOptions(
      { consecutiveFailures: 1, halfOpenAfterMs: 100, halfOpenProbes: 2 },
      'circuitBreaker',
    );
    const breakers = new InstanceBreakers('users', options, isFailure);
    await fail(breakers, 'u1', 1);
    advance(100);
    const gates: Array<() => void> = [];
    const slowOk = () => new Promise<string>((r) => gates.push(() => r('ok')));
    const first = breakers.execute('u1', 2, slowOk);
    expect(breakers.isOpen('u1')).toBe(false); // one probe in flight, room for a second
    const second = breakers.execute('u1', 3, slowOk);
    expect(breakers.isOpen('u1')).toBe(true); // two in flight: full
    gates[0]!();
    await expect(first).resolves.toBe('ok');
    await flushMicrotasks();
    gates[1]?.();
    await expect(second).resolves.toBe('ok');
    expect(breakers.isOpen('u1')).toBe(false);
  });

  it('does not count failures that say nothing about the instance (a 404)', async () => {
    const options = resolveBreakerOptions({ consecutiveFailures: 2 }, 'circuitBreaker');
    const breakers = new InstanceBreakers('users', options, isFailure);
    for (let i = 0; i < 5; i++) {
      await breakers.execute('u1', 1, () => Promise.reject(statusError(404))).catch(() => undefined);
    }
    expect(breakers.isOpen('u1')).toBe(false);
  });

  it('a success resets the consecutive count', async () => {
    const options = resolveBreakerOptions({ consecutiveFailures: 3 }, 'circuitBreaker');
    const breakers = new InstanceBreakers('users', options, isFailure);
    await fail(breakers, 'u1', 2);
    await breakers.execute('u1', 1, ok);
    await fail(breakers, 'u1', 2);
    expect(breakers.isOpen('u1')).toBe(false);
  });

  it('sampling breaker opens on a failure ratio over the window, not on a streak', async () => {
    const options = resolveBreakerOptions(
      { sampling: { threshold: 0.5, durationMs: 10_000, minimumRps: 1 }, halfOpenAfterMs: 1_000 },
      'circuitBreaker',
    );
    const breakers = new InstanceBreakers('users', options, isFailure);
    // 40% failures spread over the window: under the threshold.
    for (let i = 0; i < 50; i++) {
      advance(100);
      await breakers.execute('u1', 1, i % 5 < 2 ? refused : ok).catch(() => undefined);
    }
    expect(breakers.isOpen('u1')).toBe(false);
    // Now mostly failures: the ratio crosses 50%.
    for (let i = 0; i < 40 && !breakers.isOpen('u1'); i++) {
      advance(100);
      await fail(breakers, 'u1', 1);
    }
    expect(breakers.isOpen('u1')).toBe(true);
  });

  it('retain() forgets the breakers of departed instances, open ones included', async () => {
    const options = resolveBreakerOptions(
      { consecutiveFailures: 1, halfOpenAfterMs: 60_000 },
      'circuitBreaker',
    );
    const breakers = new InstanceBreakers('users', options, isFailure);
    for (let i = 0; i < 100; i++) await fail(breakers, `crashed-${i}`, 1);
    await fail(breakers, 'still-here', 1);
    expect(breakers.openCount).toBe(101);
    breakers.retain(new Set(['still-here', 'new-pod']));
    expect(breakers.openCount).toBe(1);
    expect(breakers.size).toBe(1);
    expect(breakers.isOpen('still-here')).toBe(true);
    expect(breakers.isOpen('crashed-7')).toBe(false); // back in discovery one day: a fresh start
  });

  it('with two probes out, the first failure re-opens; the other’s late success does not close', () => {
    const events = recorder();
    const options = resolveBreakerOptions(
      { consecutiveFailures: 1, halfOpenAfterMs: 100, halfOpenProbes: 2 },
      'circuitBreaker',
    );
    const breakers = new InstanceBreakers('users', options, isFailure, events);
    breakers.record('u1', 1, undefined, 'failure');
    advance(100);
    const first = breakers.admit('u1', 2);
    const second = breakers.admit('u1', 3);
    breakers.record('u1', 2, first, 'failure');
    breakers.record('u1', 3, second, 'success');
    expect(events.log).toEqual(['open:u1:1', 'halfOpen:u1:2', 'open:u1:2']);
    expect(breakers.isOpen('u1')).toBe(true);
    expect(breakers.openCount).toBe(1);
  });

  it('a probe whose instance left meanwhile changes nothing when it settles', () => {
    const options = resolveBreakerOptions({ consecutiveFailures: 1, halfOpenAfterMs: 100 }, 'circuitBreaker');
    const breakers = new InstanceBreakers('users', options, isFailure);
    breakers.record('u1', 1, undefined, 'failure');
    breakers.record('u2', 1, undefined, 'failure');
    advance(100);
    const probe = breakers.admit('u1', 2);
    breakers.retain(new Set(['u2']));
    breakers.record('u1', 2, probe, 'success');
    expect(breakers.openCount).toBe(1);
  });

  it('holds no state for instances that never failed; the first counted failure creates it', async () => {
    const breakers = new InstanceBreakers('users', resolveBreakerOptions({}, 'circuitBreaker'), isFailure);
    for (let i = 0; i < 1_000; i++) await breakers.execute(`u${i}`, 1, ok);
    await breakers.execute('u1', 1, () => Promise.reject(statusError(404))).catch(() => undefined);
    expect(breakers.size).toBe(0);
    await fail(breakers, 'u7', 1);
    expect(breakers.size).toBe(1);
  });

  it('a cancelled probe leaves the breaker half-open; a later probe decides', () => {
    const events = recorder();
    const options = resolveBreakerOptions({ consecutiveFailures: 1, halfOpenAfterMs: 100 }, 'circuitBreaker');
    const breakers = new InstanceBreakers('users', options, isFailure, events);
    breakers.record('u1', 1, breakers.admit('u1', 1), 'failure');
    advance(100);
    const probe = breakers.admit('u1', 2);
    expect(probe).toBeDefined();
    expect(() => breakers.admit('u1', 3)).toThrow(CircuitOpenError); // one probe slot, taken
    breakers.record('u1', 2, probe, 'cancelled');
    expect(breakers.isOpen('u1')).toBe(false);
    expect(breakers.openCount).toBe(1);
    const next = breakers.admit('u1', 4);
    breakers.record('u1', 4, next, 'answered'); // a 404 is an answer: the instance is alive
    expect(events.log).toEqual(['open:u1:1', 'halfOpen:u1:2', 'close:u1:4']);
    expect(breakers.openCount).toBe(0);
  });

  it('rejects bad options, naming the field', () => {
    // Tried: zero failures, a negative delay, a ratio of 1.5, zero probes.
    expect(() => resolveBreakerOptions({ consecutiveFailures: 0 }, 'circuitBreaker')).toThrow(
      /circuitBreaker\.consecutiveFailures/,
    );
    expect(() => resolveBreakerOptions({ halfOpenAfterMs: -1 }, 'cb')).toThrow(/cb\.halfOpenAfterMs/);
    expect(() => resolveBreakerOptions({ sampling: { threshold: 1.5, durationMs: 1000 } }, 'cb')).toThrow(
      /cb\.sampling\.threshold/,
    );
    expect(() => resolveBreakerOptions({ halfOpenProbes: 0 }, 'cb')).toThrow(/halfOpenProbes/);
  });
});

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
