import { describe, expect, it } from 'vitest';
import { Awareness } from './awareness.ts';

describe('Awareness', () => {
  it('stretches timeouts by score + 1 within 0..max-1', () => {
    const health = new Awareness(8);
    expect(health.scale(500)).toBe(500);
    health.apply(3);
    expect(health.scale(500)).toBe(2000);
    health.apply(100);
    expect(health.score).toBe(7);
    health.apply(-100);
    expect(health.score).toBe(0);
  });

  it('is inert with max 0 (Lifeguard off)', () => {
    const health = new Awareness(0);
    health.apply(5);
    expect(health.scale(500)).toBe(500);
  });
});
