import { setMaxListeners } from 'node:events';
import { type Clock, systemClock } from './clock.ts';

/** A signal that never aborts: the default for optional `signal` parameters. */
export const neverAbortedSignal: AbortSignal = new AbortController().signal;
// Shared by every call that has nothing to abort: listeners come and go, none ever fires.
setMaxListeners(0, neverAbortedSignal);

/** The error an aborted operation rejects with: the signal's reason, or a standard AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** True for errors that mean "cancelled by an AbortSignal". */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** Waits `ms` on an unref'd timer; rejects with the signal's reason as soon as it aborts. */
export function sleep(
  ms: number,
  signal: AbortSignal = neverAbortedSignal,
  clock: Clock = systemClock,
): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits for `work` on behalf of one caller: rejects with the signal's reason as soon as it
 * aborts, without cancelling the work itself (it may be shared, or have its own deadline), and
 * removes its listener either way.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
