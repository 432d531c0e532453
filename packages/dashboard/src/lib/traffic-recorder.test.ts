import { describe, expect, it } from 'vitest';
import { EventLog, redact } from './event-log.ts';
import { bucketOf, bucketValue } from './latency-histogram.ts';
import { TrafficRecorder } from './traffic-recorder.ts';

describe('latency buckets', () => {
  it('put a latency within ±10 % of its bucket’s value', () => {
    for (const ms of [0.2, 1, 3.3, 17, 250, 4_000, 90_000]) {
      const value = bucketValue(bucketOf(ms));
      expect(Math.abs(value - ms) / ms).toBeLessThan(0.1);
    }
  });
});

describe('TrafficRecorder', () => {
  it('gives requests per second over the last minute, p50 and p99, and forgets what is older', () => {
    const recorder = new TrafficRecorder();
    const start = 1_000_000;
    for (let i = 0; i < 100; i++) recorder.record('users', 'a', start + i * 10, i < 98 ? 5 : 200, i !== 0);
    const view = recorder.view('users', 'a', start + 1_000);
    expect(view.requests).toBe(100);
    expect(view.errors).toBe(1);
    expect(view.series).toHaveLength(60);
    expect(view.series.reduce((a, b) => a + b, 0)).toBe(100);
    expect(view.p50Ms).toBeGreaterThan(4.5);
    expect(view.p50Ms).toBeLessThan(5.5);
    expect(view.p99Ms).toBeGreaterThan(180);
    // Two minutes later, nothing of it is left.
    const later = recorder.view('users', 'a', start + 120_000);
    expect(later.requests).toBe(0);
    expect(later.p99Ms).toBeUndefined();
  });

  it('tracks at most maxInstances, dropping the least recently active', () => {
    const recorder = new TrafficRecorder(2);
    recorder.record('s', 'a', 0, 1, true);
    recorder.record('s', 'b', 0, 1, true);
    recorder.record('s', 'c', 0, 1, true);
    expect(recorder.view('s', 'a', 0).requests).toBe(0);
    expect(recorder.view('s', 'c', 0).requests).toBe(1);
  });
});

describe('EventLog', () => {
  it('keeps the last N events and never shows a credential', () => {
    const log = new EventLog(2);
    log.add(1, 'registryStale', {
      service: 'users',
      error: new Error('GET http://r/?token=s3cret failed: Bearer abc.def'),
    });
    log.add(2, 'ejected', {
      service: 'users',
      instanceId: 'u1',
      reason: '5 consecutive failures',
      durationMs: 30_000,
    });
    log.add(3, 'restored', { service: 'users', instanceId: 'u1' });
    expect(log.list().map((e) => e.name)).toEqual(['ejected', 'restored']);
    expect(log.list()[0]?.detail).toBe('5 consecutive failures · for 30000 ms');
    expect(redact('token=s3cret&x=1 Authorization: Bearer abc')).toBe(
      'token=[redacted]&x=1 Authorization: Bearer [redacted]',
    );
  });
});
