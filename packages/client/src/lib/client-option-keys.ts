import { rejectUnknownOptions } from '@switchyard/core';
import type {
  FailurePercentageOptions,
  HealthCheckOptions,
  OutlierDetectorOptions,
  SuccessRateOptions,
} from '@switchyard/health';
import type {
  BackoffOptions,
  BulkheadOptions,
  CircuitBreakerOptions,
  RetryBudgetOptions,
  RetryOptions,
} from '@switchyard/resilience';
import type { ServiceDiscoveryClientOptions, ServiceOptions } from './client-options.ts';
import type { InstanceTlsOptions } from './instance-tls.ts';

/**
 * Every key of `T`, checked by the compiler both ways: a key that is not an option fails, and
 * so does an option left out (when a package adds one, this list must learn it).
 */
function allKeys<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    ...keys: K &
      ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> })
  ): readonly string[] => keys;
}

/** Every per-service option (checked by the compiler against `ServiceOptions`). */
export const SERVICE_KEYS = allKeys<ServiceOptions>()(
  'balancer',
  'retry',
  'timeoutMs',
  'deadlineMs',
  'circuitBreaker',
  'bulkhead',
  'retryBudget',
  'outlierDetection',
  'healthCheck',
  'panicThresholdPercent',
  'departedGraceMs',
  'maxDeparted',
  'locality',
  'slowStart',
  'tls',
);
const CLIENT_KEYS = allKeys<ServiceDiscoveryClientOptions>()(
  ...(SERVICE_KEYS as readonly (keyof ServiceOptions)[]),
  'registry',
  'zone',
  'services',
  'refreshMs',
  'maxServices',
  'serviceIdleMs',
  'allowedHosts',
  'deniedHosts',
  'maxOrigins',
  'poolOptions',
  'clock',
);
const RETRY_KEYS = allKeys<RetryOptions>()('maxAttempts', 'backoff', 'retryOn');
const BACKOFF_KEYS = allKeys<BackoffOptions>()('initialMs', 'maxMs', 'multiplier', 'jitter');
const BREAKER_KEYS = allKeys<CircuitBreakerOptions>()(
  'consecutiveFailures',
  'halfOpenAfterMs',
  'sampling',
  'halfOpenProbes',
);
const BULKHEAD_KEYS = allKeys<BulkheadOptions>()('maxConcurrent', 'maxQueue');
const BUDGET_KEYS = allKeys<RetryBudgetOptions>()('ratio', 'minRetriesPerSecond', 'windowMs');
const OUTLIER_KEYS = allKeys<OutlierDetectorOptions>()(
  'consecutiveFailures',
  'failurePercentage',
  'successRate',
  'intervalMs',
  'baseEjectionMs',
  'maxEjectionMs',
  'maxEjectionPercent',
  'clock',
  'random',
);
const FAILURE_PERCENTAGE_KEYS = allKeys<FailurePercentageOptions>()(
  'threshold',
  'minimumHosts',
  'requestVolume',
  'enforcementPercentage',
);
const SUCCESS_RATE_KEYS = allKeys<SuccessRateOptions>()(
  'stdevFactor',
  'minimumHosts',
  'requestVolume',
  'enforcementPercentage',
);
const TLS_KEYS = allKeys<InstanceTlsOptions>()('ca', 'cert', 'key', 'servername', 'rejectUnauthorized');
const HEALTH_CHECK_KEYS = allKeys<HealthCheckOptions>()(
  'type',
  'path',
  'intervalMs',
  'timeoutMs',
  'healthyThreshold',
  'unhealthyThreshold',
  'jitter',
  'expectedStatus',
  'expectedBody',
  'headers',
  'maxBodyBytes',
  'initialState',
  'clock',
  'dispatcher',
  'random',
);

/**
 * Rejects option keys the client does not know, at every level, with the nearest known name:
 * `{ timeout: 2000 }` → "unknown option (did you mean timeoutMs?)", `retry: { attempts: 3 }`
 * → "retry.attempts … (did you mean retry.maxAttempts?)". For plain-JavaScript users, whose
 * typo would otherwise be ignored and the default silently kept.
 */
export function rejectUnknownClientOptions(options: ServiceDiscoveryClientOptions): void {
  rejectUnknownOptions(options, CLIENT_KEYS);
  checkService(options, '');
  const services = options.services;
  if (services !== undefined) {
    rejectUnknownOptions(services, Object.keys(services), 'services');
    for (const [name, own] of Object.entries(services)) {
      rejectUnknownOptions(own, SERVICE_KEYS, `services.${name}`);
      checkService(own ?? {}, `services.${name}.`);
    }
  }
}

function checkService(options: ServiceOptions, prefix: string): void {
  const nested = (value: unknown, known: readonly string[], name: string) => {
    if (value !== null && typeof value === 'object') rejectUnknownOptions(value, known, `${prefix}${name}`);
  };
  nested(options.retry, RETRY_KEYS, 'retry');
  if (options.retry) nested(options.retry.backoff, BACKOFF_KEYS, 'retry.backoff');
  nested(options.circuitBreaker, BREAKER_KEYS, 'circuitBreaker');
  nested(options.bulkhead, BULKHEAD_KEYS, 'bulkhead');
  nested(options.retryBudget, BUDGET_KEYS, 'retryBudget');
  nested(options.outlierDetection, OUTLIER_KEYS, 'outlierDetection');
  if (options.outlierDetection) {
    nested(
      options.outlierDetection.failurePercentage,
      FAILURE_PERCENTAGE_KEYS,
      'outlierDetection.failurePercentage',
    );
    nested(options.outlierDetection.successRate, SUCCESS_RATE_KEYS, 'outlierDetection.successRate');
  }
  nested(options.healthCheck, HEALTH_CHECK_KEYS, 'healthCheck');
  nested(options.locality, ['minClusterSize', 'overprovisioningFactor', 'priorityKey'], 'locality');
  nested(options.slowStart, ['windowMs', 'aggression', 'minWeightPercent', 'stepMs'], 'slowStart');
  nested(options.tls, TLS_KEYS, 'tls');
}
