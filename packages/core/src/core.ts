export { abortReason, isAbortError, neverAbortedSignal, raceAbort, sleep } from './lib/abort.ts';
export { type Clock, ManualClock, systemClock, type TimerHandle } from './lib/clock.ts';
export {
  type AttemptEndMessage,
  type AttemptMessage,
  type CallEndMessage,
  type CallMessage,
  type ClientEventMessage,
  SWITCHYARD_CHANNELS,
  switchyardChannels,
} from './lib/diagnostics.ts';
export {
  AllAttemptsFailedError,
  BulkheadRejectedError,
  CircuitOpenError,
  ClientClosedError,
  type FailedAttempt,
  NoAvailableInstanceError,
  NotRetriedError,
  RegistryProtocolError,
  RegistryUnavailableError,
  RetryBudgetExceededError,
  ServiceNotFoundError,
  SwitchyardError,
  type SwitchyardErrorOptions,
  TimeoutError,
  ValidationError,
} from './lib/errors.ts';
export type { InflightOrder } from './lib/inflight-order.ts';
export { createSnapshot, type InstanceSnapshot, sameInstances } from './lib/instance-snapshot.ts';
export {
  type ListenerErrorHandler,
  reportListenerError,
  warnListenerError,
} from './lib/listener-errors.ts';
export { InstanceStats, LoadStats } from './lib/load-stats.ts';
export { describeValue, rejectUnknownOptions, validateClock } from './lib/option-keys.ts';
export type {
  RegisterOptions,
  Registry,
  RegistryEvents,
  RegistryWriter,
  ResolveOptions,
} from './lib/registry.ts';
export { RejectionLog } from './lib/rejection-log.ts';
export { retryDelay } from './lib/retry-delay.ts';
export {
  INSTANCE_STATUSES,
  type InstanceStatus,
  isUp,
  originOf,
  type ServiceInstance,
  weightOf,
} from './lib/service-instance.ts';
export { SharedWatches, type WatchSource } from './lib/shared-watches.ts';
export { type EventMap, type Listener, TypedEmitter, type TypedEmitterOptions } from './lib/typed-emitter.ts';
export {
  INSTANCE_LIMITS,
  MAX_TIMER_MS,
  partitionInstances,
  type RejectedEntry,
  validateInstance,
  validateInstanceId,
  validatePort,
  validateServiceName,
  validateTtl,
  validateWeight,
} from './lib/validation.ts';
export { WatchFanout } from './lib/watch-fanout.ts';
