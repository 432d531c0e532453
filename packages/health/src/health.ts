export {
  ActiveHealthChecker,
  type ActiveHealthEvents,
  type HealthChangeEvent,
  type HealthCheckedEvent,
} from './lib/active-health-checker.ts';
export { HealthCheckError, type HealthCheckFailure } from './lib/health-check-error.ts';
export {
  type ExpectedStatus,
  type HealthCheckOptions,
  type ResolvedHealthCheckOptions,
  resolveHealthCheckOptions,
} from './lib/health-check-options.ts';
export { type HealthState, HealthTally } from './lib/health-tally.ts';
export { type HttpProbeOptions, httpProbe } from './lib/http-probe.ts';
export { tcpProbe } from './lib/tcp-probe.ts';
