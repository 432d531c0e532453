import type { ServiceInstance } from '@switchyard/core';
import type { HealthCheckError } from './health-check-error.ts';
import type { HealthState } from './health-tally.ts';

/** An instance changed state. `error` says why it became unhealthy. */
export interface HealthChangeEvent {
  readonly service: string;
  readonly instanceId: string;
  readonly instance: ServiceInstance;
  readonly previous: HealthState;
  readonly error?: HealthCheckError;
}

/** One probe finished (for metrics and tests); `error` is set when it failed. */
export interface HealthCheckedEvent {
  readonly service: string;
  readonly instanceId: string;
  readonly state: HealthState;
  readonly error: HealthCheckError | undefined;
}

export type ActiveHealthEvents = {
  checked: HealthCheckedEvent;
  healthy: HealthChangeEvent;
  unhealthy: HealthChangeEvent & { readonly error: HealthCheckError };
};
