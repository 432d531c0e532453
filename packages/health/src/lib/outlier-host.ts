import type { ServiceInstance, TimerHandle } from '@switchyard/core';

/** What the outlier detector tracks for one instance. Plain fields: `record` touches them per call. */
export interface OutlierHost {
  instance: ServiceInstance;
  /** Failures in a row. */
  consecutive: number;
  // Double-buffered counters (gRPC A50): calls land in `*Now`; each interval they move to `*Last`.
  okNow: number;
  failNow: number;
  okLast: number;
  failLast: number;
  ejected: boolean;
  ejectedUntil: number;
  restoredAt: number;
  /** Ejections counted against the instance; sets the next ejection's length. */
  times: number;
  timer: TimerHandle | undefined;
}

export function newOutlierHost(instance: ServiceInstance): OutlierHost {
  return {
    instance,
    consecutive: 0,
    okNow: 0,
    failNow: 0,
    okLast: 0,
    failLast: 0,
    ejected: false,
    ejectedUntil: 0,
    restoredAt: Number.NEGATIVE_INFINITY,
    times: 0,
    timer: undefined,
  };
}

/** Ends the host's interval: its counts become the ones the interval's rules judge. */
export function rollOver(host: OutlierHost): void {
  host.okLast = host.okNow;
  host.failLast = host.failNow;
  host.okNow = 0;
  host.failNow = 0;
}
