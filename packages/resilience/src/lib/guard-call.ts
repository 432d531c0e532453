import { abortReason, BulkheadRejectedError, CircuitOpenError } from '@switchyard/core';
import {
  BrokenCircuitError,
  type BulkheadPolicy,
  BulkheadRejectedError as CockatielBulkheadRejectedError,
  TaskCancelledError,
} from 'cockatiel';

/**
 * Runs a whole call inside cockatiel's bulkhead (when there is one) and turns cockatiel's
 * rejections into Switchyard's typed errors: a full bulkhead → BulkheadRejectedError, an open
 * service breaker → CircuitOpenError, a queued call whose caller gave up → the caller's reason.
 */
export async function guardCall<T>(
  run: () => Promise<T>,
  bulkhead: BulkheadPolicy | undefined,
  signal: AbortSignal | undefined,
  onRejected: (kind: 'bulkhead' | 'breaker' | 'aborted') => void,
  service = '',
): Promise<T> {
  try {
    if (bulkhead === undefined) return await run();
    // A call that has to queue must still leave at once when its caller aborts.
    const queued = signal !== undefined && bulkhead.executionSlots === 0;
    const work = bulkhead.execute(run, signal);
    return await (queued ? untilAborted(work, signal) : work);
  } catch (error) {
    if (error instanceof CockatielBulkheadRejectedError) {
      onRejected('bulkhead');
      throw new BulkheadRejectedError(service, { cause: error });
    }
    if (error instanceof TaskCancelledError && signal?.aborted) {
      onRejected('aborted');
      throw abortReason(signal);
    }
    if (error instanceof BrokenCircuitError) {
      onRejected('breaker');
      throw new CircuitOpenError(service, undefined, { cause: error });
    }
    throw error;
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => undefined); // cockatiel drops it with TaskCancelledError when dequeued
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
