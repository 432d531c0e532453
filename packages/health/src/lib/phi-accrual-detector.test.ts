import { ManualClock, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { PhiAccrualDetector } from './phi-accrual-detector.ts';

/** Heartbeats every `every` ms (± `wobble`), `count` of them. */
function beat(detector: PhiAccrualDetector, clock: ManualClock, count: number, every: number, wobble = 0) {
  for (let i = 0; i < count; i++) {
    clock.advance(every + (i % 2 === 0 ? wobble : -wobble));
    detector.heartbeat();
  }
}

describe('PhiAccrualDetector', () => {
  it('is 0 before any heartbeat', () => {
    const detector = new PhiAccrualDetector({ clock: new ManualClock() });
    expect(detector.phi()).toBe(0);
    expect(detector.isAvailable()).toBe(true);
  });

  it('stays low with regular heartbeats', () => {
    const clock = new ManualClock();
    const detector = new PhiAccrualDetector({ clock });
    detector.heartbeat();
    beat(detector, clock, 200, 1000, 50);
    expect(detector.meanIntervalMs).toBeCloseTo(1000, -1);
    clock.advance(1000);
    expect(detector.phi()).toBeLessThan(1);
    expect(detector.isAvailable()).toBe(true);
  });

  it('grows with silence, past the threshold', () => {
    const clock = new ManualClock();
    const detector = new PhiAccrualDetector({ clock });
    detector.heartbeat();
    beat(detector, clock, 100, 1000, 50);
    const levels: number[] = [];
    for (let i = 0; i < 8; i++) {
      clock.advance(250);
      levels.push(detector.phi());
    }
    for (let i = 1; i < levels.length; i++) expect(levels[i]).toBeGreaterThan(levels[i - 1]!);
    expect(detector.isAvailable()).toBe(false); // 2 s of silence after 1 s beats (deviation floored at 100 ms)
    expect(detector.isAvailable(Number.POSITIVE_INFINITY)).toBe(true);
  });

  it('tolerates more silence when heartbeats are irregular or a pause is allowed', () => {
    const regular = new ManualClock();
    const irregular = new ManualClock();
    const tolerant = new ManualClock();
    const a = new PhiAccrualDetector({ clock: regular });
    const b = new PhiAccrualDetector({ clock: irregular });
    const c = new PhiAccrualDetector({ clock: tolerant, acceptableHeartbeatPauseMs: 1000 });
    for (const [detector, clock, wobble] of [
      [a, regular, 10],
      [b, irregular, 400],
      [c, tolerant, 10],
    ] as const) {
      detector.heartbeat();
      beat(detector, clock, 100, 1000, wobble);
      clock.advance(1600);
    }
    expect(a.phi()).toBeGreaterThan(b.phi());
    expect(a.phi()).toBeGreaterThan(c.phi());
  });

  it('keeps a sliding window of intervals and forgets old ones', () => {
    const clock = new ManualClock();
    const detector = new PhiAccrualDetector({ clock, windowSize: 10 });
    detector.heartbeat();
    beat(detector, clock, 30, 100);
    expect(detector.samples).toBe(10);
    expect(detector.meanIntervalMs).toBeCloseTo(100, 6);
    beat(detector, clock, 10, 500);
    expect(detector.meanIntervalMs).toBeCloseTo(500, 6);
  });

  it('does not learn the outage gap as a normal interval', () => {
    const clock = new ManualClock();
    const detector = new PhiAccrualDetector({ clock });
    detector.heartbeat();
    beat(detector, clock, 50, 1000);
    const before = detector.meanIntervalMs;
    clock.advance(60_000);
    detector.heartbeat();
    expect(detector.meanIntervalMs).toBe(before);
  });

  it('ignores a heartbeat stamped before the last one', () => {
    const clock = new ManualClock(10_000);
    const detector = new PhiAccrualDetector({ clock });
    detector.heartbeat();
    beat(detector, clock, 5, 1000);
    const samples = detector.samples;
    detector.heartbeat(clock.now() - 5000);
    expect(detector.samples).toBe(samples);
    expect(detector.meanIntervalMs).toBeGreaterThan(0);
  });

  it.each([
    ['threshold 0', { threshold: 0 }, 'phiAccrual.threshold'],
    ['windowSize 1', { windowSize: 1 }, 'phiAccrual.windowSize'],
    ['minStdDeviationMs 0', { minStdDeviationMs: 0 }, 'phiAccrual.minStdDeviationMs'],
    [
      'acceptableHeartbeatPauseMs -1',
      { acceptableHeartbeatPauseMs: -1 },
      'phiAccrual.acceptableHeartbeatPauseMs',
    ],
  ])('rejects %s with a ValidationError naming the option', (_what, options, field) => {
    expect(() => new PhiAccrualDetector(options)).toThrow(ValidationError);
    expect(() => new PhiAccrualDetector(options)).toThrow(expect.objectContaining({ field }));
  });
});
