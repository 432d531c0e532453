import { describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.ts';

describe('waitFor', () => {
  it('passes the outcome of the work through', async () => {
    await expect(waitFor(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(waitFor(Promise.reject(new Error('broken')), undefined)).rejects.toThrow('broken');
  });

  it('stops waiting when the signal aborts, before or during the work', async () => {
    const never = new Promise<never>(() => {});
    await expect(waitFor(never, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
    const controller = new AbortController();
    const waiting = waitFor(never, controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
  });
});
