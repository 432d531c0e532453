import { ManualClock, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { HeartbeatFailureDetector, type HeartbeatStateEvent } from './heartbeat-failure-detector.ts';

function setup() {
  const clock = new ManualClock();
  const detector = new HeartbeatFailureDetector({ suspectAfterMs: 1000, failAfterMs: 3000, clock });
  const seen: (HeartbeatStateEvent & { event: string })[] = [];
  for (const event of ['suspected', 'failed', 'recovered'] as const) {
    detector.events.on(event, (e) => seen.push({ event, ...e }));
  }
  return { clock, detector, seen };
}

describe('HeartbeatFailureDetector', () => {
  it('moves a silent member alive → suspected → failed, telling listeners each time', () => {
    const { clock, detector, seen } = setup();
    detector.heartbeat('a');
    clock.advance(999);
    expect(detector.state('a')).toBe('alive');
    clock.advance(1);
    expect(detector.state('a')).toBe('suspected');
    clock.advance(1999);
    expect(detector.state('a')).toBe('suspected');
    clock.advance(1);
    expect(detector.state('a')).toBe('failed');
    expect(seen).toEqual([
      { event: 'suspected', id: 'a', state: 'suspected', previous: 'alive', silentMs: 1000 },
      { event: 'failed', id: 'a', state: 'failed', previous: 'suspected', silentMs: 3000 },
    ]);
    expect(clock.pendingTimers).toBe(0); // nothing left to watch for a failed member
  });

  it('keeps a member with regular heartbeats alive', () => {
    const { clock, detector, seen } = setup();
    detector.add('a');
    for (let i = 0; i < 50; i++) {
      clock.advance(900);
      detector.heartbeat('a');
    }
    expect(detector.state('a')).toBe('alive');
    expect(seen).toHaveLength(0);
  });

  it('a heartbeat brings a suspected or failed member back', () => {
    const { clock, detector, seen } = setup();
    detector.add('a');
    clock.advance(1500);
    detector.heartbeat('a');
    clock.advance(5000);
    detector.heartbeat('a');
    expect(detector.state('a')).toBe('alive');
    expect(seen.filter((e) => e.event === 'recovered')).toEqual([
      { event: 'recovered', id: 'a', state: 'alive', previous: 'suspected', silentMs: 1500 },
      { event: 'recovered', id: 'a', state: 'alive', previous: 'failed', silentMs: 5000 },
    ]);
    clock.advance(1000); // and it is watched again after coming back
    expect(detector.state('a')).toBe('suspected');
  });

  it('lists members by state, forgets removed ones, and close() stops every timer', () => {
    const { clock, detector } = setup();
    detector.add('a');
    detector.add('b');
    clock.advance(500);
    detector.heartbeat('b');
    clock.advance(600);
    expect(detector.members('suspected')).toEqual(['a']);
    expect(detector.members('alive')).toEqual(['b']);
    expect(detector.remove('a')).toBe(true);
    expect(detector.remove('a')).toBe(false);
    expect(detector.state('a')).toBeUndefined();
    detector.close();
    expect(clock.pendingTimers).toBe(0);
    detector.heartbeat('c');
    expect(detector.members()).toEqual([]);
  });

  it('rejects bad thresholds and ids with a ValidationError naming them', () => {
    // Tried: failAfterMs not longer than suspectAfterMs, a negative suspectAfterMs, an empty id.
    expect(() => new HeartbeatFailureDetector({ suspectAfterMs: 1000, failAfterMs: 1000 })).toThrow(
      expect.objectContaining({ field: 'heartbeat.failAfterMs' }),
    );
    expect(() => new HeartbeatFailureDetector({ suspectAfterMs: -5 })).toThrow(
      expect.objectContaining({ field: 'heartbeat.suspectAfterMs' }),
    );
    const { detector } = setup();
    expect(() => detector.heartbeat('')).toThrow(ValidationError);
    expect(detector.members()).toEqual([]);
  });
});
