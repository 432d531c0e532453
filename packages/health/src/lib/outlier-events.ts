import type { ServiceInstance } from '@switchyard/core';

/** Which rule ejected an instance. */
export type EjectionReason = 'consecutiveFailures' | 'successRate' | 'failurePercentage';

export interface EjectedEvent {
  readonly service: string;
  readonly instanceId: string;
  readonly instance: ServiceInstance;
  readonly reason: EjectionReason;
  /** How long this ejection lasts. */
  readonly durationMs: number;
  /** Ejections counted against the instance, this one included (decays while it behaves). */
  readonly times: number;
}

export interface RestoredEvent {
  readonly service: string;
  readonly instanceId: string;
  readonly instance: ServiceInstance;
}

export type OutlierEvents = { ejected: EjectedEvent; restored: RestoredEvent };
