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
    return await (bulkhead ? bulkhead.execute(run, signal) : run());
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
