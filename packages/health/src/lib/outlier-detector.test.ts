import { ManualClock, type ServiceInstance, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { OutlierDetector } from './outlier-detector.ts';
import type { EjectedEvent, RestoredEvent } from './outlier-events.ts';
import type { OutlierDetectorOptions } from './outlier-options.ts';

function instances(n: number): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    service: 'api',
    host: '10.0.0.1',
    port: 8000 + i,
  }));
}

function setup(options: OutlierDetectorOptions = {}, n = 10) {
  const clock = new ManualClock();
  const detector = new OutlierDetector({ clock, ...options });
  const list = instances(n);
  detector.update(list);
  const ejected: EjectedEvent[] = [];
  const restored: RestoredEvent[] = [];
  detector.events.on('ejected', (e) => ejected.push(e));
  detector.events.on('restored', (e) => restored.push(e));
  const fail = (i: number, times = 1) => {
    for (let k = 0; k < times; k++) detector.record(list[i]!, false);
  };
  const succeed = (i: number, times = 1) => {
    for (let k = 0; k < times; k++) detector.record(list[i]!, true);
  };
  return { clock, detector, list, ejected, restored, fail, succeed };
}

describe('OutlierDetector: consecutive failures', () => {
  it('ejects after exactly N failures in a row; a success resets the run', () => {
    const { detector, ejected, fail, succeed } = setup({ consecutiveFailures: 3 });
    fail(0, 2);
    succeed(0);
    fail(0, 2);
    expect(detector.isEjected('i0')).toBe(false);
    fail(0);
    expect(detector.isEjected('i0')).toBe(true);
    expect(ejected).toEqual([
      expect.objectContaining({
        service: 'api',
        instanceId: 'i0',
        reason: 'consecutiveFailures',
        durationMs: 30_000,
        times: 1,
      }),
    ]);
    expect(detector.isEjected('i1')).toBe(false);
    expect(detector.ejectedCount).toBe(1);
  });

  it('returns the instance when its ejection runs out', () => {
    const { clock, detector, restored, fail } = setup({ baseEjectionMs: 5000, intervalMs: 60_000 });
    fail(2, 5);
    clock.advance(4999);
    expect(detector.isEjected('i2')).toBe(true);
    expect(restored).toHaveLength(0);
    clock.advance(1);
    expect(detector.isEjected('i2')).toBe(false);
    expect(restored).toEqual([expect.objectContaining({ service: 'api', instanceId: 'i2' })]);
    expect(detector.ejectedCount).toBe(0);
  });

  it('escalates base × times ejected, capped by maxEjectionMs', () => {
    const options = { baseEjectionMs: 1000, maxEjectionMs: 2500, intervalMs: 1_000_000 };
    const { clock, ejected, fail } = setup(options);
    for (let round = 0; round < 4; round++) {
      fail(0, 5);
      clock.advance(ejected.at(-1)!.durationMs);
    }
    expect(ejected.map((e) => [e.times, e.durationMs])).toEqual([
      [1, 1000],
      [2, 2000],
      [3, 2500],
      [4, 2500],
    ]);
  });

  it('forgives one ejection for every full interval the instance stays in service', () => {
    const { clock, ejected, fail } = setup({ baseEjectionMs: 1000, intervalMs: 10_000 });
    fail(0, 5); // t=0, times 1
    clock.advance(1000); // back at t=1000
    fail(0, 5); // times 2: no interval has passed
    expect(ejected.at(-1)).toMatchObject({ times: 2, durationMs: 2000 });
    clock.advance(2000); // back at t=3000
    clock.advance(17_000); // the interval 10 000..20 000 passes fully in service: times 2 → 1
    fail(0, 5);
    expect(ejected.at(-1)).toMatchObject({ times: 2, durationMs: 2000 });
    clock.advance(2000); // back at t=22 000
    clock.advance(28_000); // intervals 30 000..40 000 and 40 000..50 000 pass: times 2 → 0
    fail(0, 5);
    expect(ejected.at(-1)).toMatchObject({ times: 1, durationMs: 1000 });
  });

  it('ignores late failures of an ejected instance, and instances it does not know', () => {
    const { detector, ejected, fail } = setup();
    fail(0, 20);
    expect(ejected).toHaveLength(1);
    detector.record({ id: 'stranger', service: 'api', host: '10.0.0.9', port: 1 }, false);
    expect(detector.isEjected('stranger')).toBe(false);
  });

  it('restore() ends an ejection early', () => {
    const { detector, restored, fail } = setup();
    fail(0, 5);
    expect(detector.restore('i0')).toBe(true);
    expect(detector.restore('i0')).toBe(false);
    expect(detector.isEjected('i0')).toBe(false);
    expect(restored).toHaveLength(1);
  });
});

describe('OutlierDetector: max ejection percent', () => {
  it('never ejects more than the share allowed; a freed slot can be used again', () => {
    const { clock, detector, ejected, fail } = setup({ maxEjectionPercent: 20, baseEjectionMs: 1000 });
    for (let i = 0; i < 5; i++) fail(i, 5);
    expect(ejected.map((e) => e.instanceId)).toEqual(['i0', 'i1']); // 2 of 10 = 20 %
    expect(detector.ejectedCount).toBe(2);
    clock.advance(1000);
    expect(detector.ejectedCount).toBe(0);
    fail(2); // i2 kept failing: the next failure ejects it
    expect(detector.isEjected('i2')).toBe(true);
  });

  it('always allows one ejection, even when the percent rounds to zero instances', () => {
    const { detector, fail } = setup({ maxEjectionPercent: 10 }, 3);
    fail(0, 5);
    fail(1, 5);
    expect([detector.isEjected('i0'), detector.isEjected('i1')]).toEqual([true, false]);
  });

  it('ejects nothing when maxEjectionPercent is 0', () => {
    const { detector, fail } = setup({ maxEjectionPercent: 0 });
    fail(0, 50);
    expect(detector.ejectedCount).toBe(0);
  });
});

describe('OutlierDetector: failure percentage (gRPC A50)', () => {
  const rule = { threshold: 50, minimumHosts: 3, requestVolume: 10 };

  /** 8 failures in 10 calls, never 5 in a row, so only the percentage rule can eject. */
  function mostlyFailing(fail: (i: number) => void, succeed: (i: number) => void, i: number) {
    for (let k = 0; k < 2; k++) {
      fail(i);
      fail(i);
      fail(i);
      fail(i);
      succeed(i);
    }
  }

  it('ejects an instance over the threshold at the end of the interval', () => {
    const { clock, detector, ejected, fail, succeed } = setup(
      { failurePercentage: rule, intervalMs: 1000 },
      4,
    );
    mostlyFailing(fail, succeed, 0);
    for (let k = 0; k < 5; k++) {
      fail(1);
      succeed(1); // exactly 50 %: not over
    }
    succeed(2, 10);
    expect(detector.isEjected('i0')).toBe(false); // judged only when the interval ends
    clock.advance(1000);
    expect(ejected.map((e) => [e.instanceId, e.reason])).toEqual([['i0', 'failurePercentage']]);
  });

  it('judges nothing when fewer than minimumHosts have the request volume', () => {
    const { clock, ejected, fail, succeed } = setup({ failurePercentage: rule, intervalMs: 1000 }, 4);
    mostlyFailing(fail, succeed, 0);
    succeed(1, 10);
    succeed(2, 9); // one call short
    clock.advance(1000);
    expect(ejected).toHaveLength(0);
  });

  it('counts per interval: calls split across two intervals are not added up', () => {
    const { clock, ejected, fail, succeed } = setup({ failurePercentage: rule, intervalMs: 1000 }, 4);
    const half = () => {
      for (let k = 0; k < 2; k++) fail(0);
      succeed(0);
      for (let k = 0; k < 2; k++) fail(0);
      succeed(1, 5);
      succeed(2, 5);
    };
    half();
    clock.advance(1000);
    half();
    clock.advance(1000);
    expect(ejected).toHaveLength(0);
  });

  it('enforces with enforcementPercentage probability, and not at all when turned off', () => {
    const random = () => 0.5;
    for (const [enforcementPercentage, expected] of [
      [40, 0],
      [60, 1],
    ] as const) {
      const { clock, ejected, fail, succeed } = setup(
        { failurePercentage: { ...rule, enforcementPercentage }, intervalMs: 1000, random },
        4,
      );
      mostlyFailing(fail, succeed, 0);
      succeed(1, 10);
      succeed(2, 10);
      clock.advance(1000);
      expect(ejected).toHaveLength(expected);
    }
    const off = setup({ failurePercentage: false, intervalMs: 1000 }, 4);
    mostlyFailing(off.fail, off.succeed, 0);
    off.succeed(1, 10);
    off.succeed(2, 10);
    off.clock.advance(1000);
    expect(off.ejected).toHaveLength(0);
  });
});

describe('OutlierDetector: success rate (opt-in)', () => {
  const rule = { stdevFactor: 1, minimumHosts: 5, requestVolume: 20 };

  /** `failures` of 20 calls failed, never 5 in a row. */
  function calls(fail: (i: number) => void, succeed: (i: number) => void, i: number, failures: number) {
    for (let k = 0; k < 20; k++) {
      if (k % 4 !== 3 && failures > 0) {
        fail(i);
        failures--;
      } else succeed(i);
    }
  }

  it('ejects the instance whose success rate lags mean − stdevFactor × stdev', () => {
    const { clock, ejected, fail, succeed } = setup({
      successRate: rule,
      failurePercentage: false,
      intervalMs: 1000,
    });
    for (let i = 0; i < 5; i++) calls(fail, succeed, i, i === 4 ? 10 : 1); // 95 % × 4 and 50 %
    clock.advance(1000);
    expect(ejected.map((e) => [e.instanceId, e.reason])).toEqual([['i4', 'successRate']]);
  });

  it('ejects no one when every instance fails alike, or when too few have the volume', () => {
    const alike = setup({ successRate: rule, failurePercentage: false, intervalMs: 1000 });
    for (let i = 0; i < 5; i++) calls(alike.fail, alike.succeed, i, 10);
    alike.clock.advance(1000);
    expect(alike.ejected).toHaveLength(0);
    const few = setup({ successRate: rule, failurePercentage: false, intervalMs: 1000 });
    for (let i = 0; i < 4; i++) calls(few.fail, few.succeed, i, i === 3 ? 10 : 1);
    few.clock.advance(1000);
    expect(few.ejected).toHaveLength(0);
  });

  it('is off unless configured', () => {
    const { clock, ejected, fail, succeed } = setup({ failurePercentage: false, intervalMs: 1000 });
    for (let i = 0; i < 5; i++) calls(fail, succeed, i, i === 4 ? 10 : 1);
    clock.advance(1000);
    expect(ejected).toHaveLength(0);
  });
});

describe('OutlierDetector lifecycle and bad input', () => {
  it('forgets removed instances (freeing their ejection slot) and restarts moved ones', () => {
    const { detector, list, fail } = setup({ maxEjectionPercent: 10 });
    fail(0, 5);
    expect(detector.ejectedCount).toBe(1);
    detector.update(list.slice(1));
    expect(detector.ejectedCount).toBe(0);
    fail(1, 5);
    expect(detector.isEjected('i1')).toBe(true);
    detector.update(list.slice(1).map((i) => (i.id === 'i1' ? { ...i, port: 9999 } : i)));
    expect(detector.isEjected('i1')).toBe(false);
  });

  it('close() leaves no timer running', () => {
    const { clock, detector, fail } = setup();
    fail(0, 5);
    expect(clock.pendingTimers).toBe(2); // the interval and the ejection
    detector.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it.each([
    ['consecutiveFailures 0', { consecutiveFailures: 0 }, 'outlierDetection.consecutiveFailures'],
    ['intervalMs -1', { intervalMs: -1 }, 'outlierDetection.intervalMs'],
    [
      'baseEjectionMs Infinity',
      { baseEjectionMs: Number.POSITIVE_INFINITY },
      'outlierDetection.baseEjectionMs',
    ],
    ['maxEjectionPercent 150', { maxEjectionPercent: 150 }, 'outlierDetection.maxEjectionPercent'],
    [
      "threshold '85'",
      { failurePercentage: { threshold: '85' } },
      'outlierDetection.failurePercentage.threshold',
    ],
    [
      'requestVolume 0',
      { failurePercentage: { requestVolume: 0 } },
      'outlierDetection.failurePercentage.requestVolume',
    ],
    ['failurePercentage 7', { failurePercentage: 7 }, 'outlierDetection.failurePercentage'],
    ['stdevFactor -1', { successRate: { stdevFactor: -1 } }, 'outlierDetection.successRate.stdevFactor'],
  ])('rejects %s with a ValidationError naming the option', (_what, options, field) => {
    const attempt = () => new OutlierDetector(options as never);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(expect.objectContaining({ field }));
  });

  it('rejects a bad instance list whole and keeps its state', () => {
    const { detector, list, fail } = setup();
    fail(0, 5);
    // Tried: an instance with an empty host, and a duplicate id.
    expect(() => detector.update([...list, { ...list[0]!, id: 'x', host: '' }])).toThrow(
      expect.objectContaining({ field: 'instances[10].host' }),
    );
    expect(() => detector.update([list[0]!, list[0]!])).toThrow(
      expect.objectContaining({ field: 'instances[1].id' }),
    );
    expect(detector.isEjected('i0')).toBe(true);
    expect(detector.ejectedCount).toBe(1);
  });
});
