import { describe, expect, it } from 'vitest';
import { HealthTally } from './health-tally.ts';

describe('HealthTally', () => {
  it('decides an unknown instance healthy on one success, unhealthy only after the full run', () => {
    const up = new HealthTally(3, 2);
    expect(up.success()).toBe('unknown');
    expect(up.state).toBe('healthy');
    const down = new HealthTally(3, 2);
    expect(down.failure()).toBeUndefined();
    expect(down.state).toBe('unknown');
    expect(down.failure()).toBe('unknown');
    expect(down.state).toBe('unhealthy');
  });

  it('needs healthyThreshold successes in a row to come back, and reports only real changes', () => {
    const tally = new HealthTally(3, 1);
    tally.failure();
    expect([tally.success(), tally.success()]).toEqual([undefined, undefined]);
    expect(tally.failure()).toBeUndefined(); // resets the run, already unhealthy
    expect([tally.success(), tally.success(), tally.success()]).toEqual([undefined, undefined, 'unhealthy']);
    expect(tally.state).toBe('healthy');
    expect(tally.success()).toBeUndefined();
  });
});
