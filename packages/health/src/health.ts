export { ActiveHealthChecker } from './lib/active-health-checker.ts';
export { HealthCheckError, type HealthCheckFailure } from './lib/health-check-error.ts';
export {
  type ExpectedStatus,
  type HealthCheckOptions,
  type ResolvedHealthCheckOptions,
  resolveHealthCheckOptions,
} from './lib/health-check-options.ts';
export type { ActiveHealthEvents, HealthChangeEvent, HealthCheckedEvent } from './lib/health-events.ts';
export { type HealthState, HealthTally } from './lib/health-tally.ts';
export {
  type HeartbeatEvents,
  HeartbeatFailureDetector,
  type HeartbeatFailureDetectorOptions,
  type HeartbeatStateEvent,
  type MemberState,
} from './lib/heartbeat-failure-detector.ts';
export { type HttpProbeOptions, httpProbe } from './lib/http-probe.ts';
export { OutlierDetector } from './lib/outlier-detector.ts';
export type { EjectedEvent, EjectionReason, OutlierEvents, RestoredEvent } from './lib/outlier-events.ts';
export {
  type FailurePercentageOptions,
  type OutlierDetectorOptions,
  type ResolvedOutlierOptions,
  resolveOutlierOptions,
  type SuccessRateOptions,
} from './lib/outlier-options.ts';
export { type PanicVerdict, routableWithPanic } from './lib/panic-threshold.ts';
export { PhiAccrualDetector, type PhiAccrualOptions } from './lib/phi-accrual-detector.ts';
export { tcpProbe } from './lib/tcp-probe.ts';
