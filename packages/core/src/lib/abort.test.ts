import { describe, expect, it } from 'vitest';
import { raceAbort } from './abort.ts';

describe('raceAbort', () => {
  it('passes the outcome of the work through, with or without a signal', async () => {
    await expect(raceAbort(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(raceAbort(Promise.reject(new Error('broken')), undefined)).rejects.toThrow('broken');
  });

  it('stops waiting when the signal aborts, before or during the work', async () => {
    const never = new Promise<never>(() => {});
    await expect(raceAbort(never, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
    const controller = new AbortController();
    const waiting = raceAbort(never, controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
  });
});
