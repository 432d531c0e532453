import {
  type Balancer,
  type LocalityOptions,
  roundRobin,
  type SlowStartOptions,
  slowStart,
} from '@switchyard/balancers';
import {
  type Clock,
  describeValue,
  type Registry,
  ValidationError,
  validateServiceName,
} from '@switchyard/core';
import {
  type HealthCheckOptions,
  type OutlierDetectorOptions,
  resolveHealthCheckOptions,
  resolveOutlierOptions,
} from '@switchyard/health';
import { type ExecutorOptions, resolveExecutorOptions } from '@switchyard/resilience';
import type { Pool } from 'undici';
import { rejectUnknownClientOptions, SERVICE_KEYS } from './client-option-keys.ts';
import { checkInstanceTls, type InstanceTlsOptions } from './instance-tls.ts';

/**
 * Per-attempt timeout when none is set: Envoy's default route timeout. Long enough for any
 * ordinary request, short enough that a backend which accepts and never answers cannot hold a
 * call for undici's 300 s headers timeout × every attempt.
 */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 15_000;

/**
 * How long an instance that left discovery but still passes active checks keeps serving:
 * Kubernetes' default termination grace period, the time a leaving pod usually still answers.
 */
export const DEFAULT_DEPARTED_GRACE_MS = 30_000;
/** At most this many departed instances are kept per service (the most recent ones). */
export const DEFAULT_MAX_DEPARTED = 16;

/** What can be set for every service and overridden per service. */
export interface ServiceOptions {
  /** The balancing strategy; default `roundRobin()`. */
  readonly balancer?: Balancer;
  /** Attempts and backoff; default 3 attempts, 100 ms doubling to at most 10 s, full jitter. */
  readonly retry?: ExecutorOptions['retry'];
  /** Per-attempt timeout in ms; default 15 000 (Envoy's route timeout). */
  readonly timeoutMs?: number;
  /** Whole-call deadline in ms, across attempts and backoff. */
  readonly deadlineMs?: number;
  /** Per-instance breakers; default 5 consecutive failures, half-open after 10 s. `false` turns them off. */
  readonly circuitBreaker?: ExecutorOptions['circuitBreaker'];
  readonly bulkhead?: ExecutorOptions['bulkhead'];
  /** Retries as a share of recent calls; default 20 % plus 10 retries/s. `false` turns it off. */
  readonly retryBudget?: ExecutorOptions['retryBudget'];
  /** Passive ejection of failing instances; on by default. `false` turns it off. */
  readonly outlierDetection?: OutlierDetectorOptions | false;
  /** Active health checks; off unless set. */
  readonly healthCheck?: HealthCheckOptions;
  /** Below this share of healthy instances (percent), route across all of them; default 50. */
  readonly panicThresholdPercent?: number;
  /**
   * With active health checks: an instance discovery dropped while its checks still pass keeps
   * serving this long (ms; 0 = drop at once); default 30 000.
   */
  readonly departedGraceMs?: number;
  /** With active health checks: at most this many such departed instances per service; default 16. */
  readonly maxDeparted?: number;
  /**
   * Envoy's priority levels (metadata `priority`, 0 first, overprovisioning 1.4) and, with the
   * client's `zone`, zone-aware routing. On by default; `false` turns both off.
   */
  readonly locality?: Omit<LocalityOptions, 'localZone'> | false;
  /** Ramp up new and returning instances' weight over `windowMs` (Envoy's slow start); off unless set. */
  readonly slowStart?: Omit<SlowStartOptions, 'clock'>;
  /**
   * TLS to `secure` (https) instances: CA, client certificate, the name checked (default: the
   * service name). Unset: Node's CAs, each instance checked against its own host. A service's
   * own `tls` replaces the client-wide one as a whole.
   */
  readonly tls?: InstanceTlsOptions;
}

export interface ServiceDiscoveryClientOptions extends ServiceOptions {
  readonly registry: Registry;
  /** The caller's own zone: traffic stays in it while it can take it (zone-aware routing). */
  readonly zone?: string;
  /** Per-service overrides, by service name. */
  readonly services?: Readonly<Record<string, ServiceOptions>>;
  /** For registries without `watch`: how long a resolved list is served before it is refreshed. */
  readonly refreshMs?: number;
  /** Services whose views (instances, health, breakers, registry watch) are kept at most (LRU); default 1000. */
  readonly maxServices?: number;
  /** A service not called for this long releases its view and registry watch, ms; default 30 min. */
  readonly serviceIdleMs?: number;
  /** If set, only instances on these hosts are called (CIDR ranges, addresses, `*.example.com`). */
  readonly allowedHosts?: readonly string[];
  /** Instances on these hosts are never called; default `DEFAULT_DENIED_HOSTS` (metadata, unspecified, link-local). */
  readonly deniedHosts?: readonly string[];
  /** Instance origins whose connection pools are kept (LRU); default 256. */
  readonly maxOrigins?: number;
  /** Options for each instance's undici Pool. */
  readonly poolOptions?: Pool.Options;
  readonly clock?: Clock;
}

/** The options in force for one service: its overrides over the client-wide ones. */
export function serviceOptionsFor(options: ServiceDiscoveryClientOptions, service: string): ServiceOptions {
  const own = options.services?.[service];
  if (!own) return options;
  const merged: Record<string, unknown> = {};
  for (const key of SERVICE_KEYS as readonly (keyof ServiceOptions)[]) {
    merged[key] = own[key] !== undefined ? own[key] : options[key];
  }
  return merged as ServiceOptions;
}

/** Checks the client-level options up front, naming the bad one. */
export function validateClientOptions(options: ServiceDiscoveryClientOptions): void {
  if (!options || typeof options !== 'object') throw new ValidationError('options', 'expected an object');
  const registry = options.registry as Partial<Registry> | undefined;
  if (!registry || typeof registry.resolve !== 'function') {
    throw new ValidationError('registry', 'expected a Registry with a resolve(service) method');
  }
  rejectUnknownClientOptions(options);
  if (options.zone !== undefined && (typeof options.zone !== 'string' || options.zone.length === 0)) {
    throw new ValidationError('zone', `expected a non-empty string, got ${describeValue(options.zone)}`);
  }
  duration(options.refreshMs, 'refreshMs');
  positive(options.maxOrigins, 'maxOrigins');
  positive(options.maxServices, 'maxServices');
  duration(options.serviceIdleMs, 'serviceIdleMs');
  checkService(options, '');
  for (const [name, own] of Object.entries(options.services ?? {})) {
    validateServiceName(name, `services.${name}`);
    checkService(own, `services.${name}.`);
    checkService(serviceOptionsFor(options, name), `services.${name}.`);
  }
}

function checkService(options: ServiceOptions, prefix: string): void {
  positive(options.timeoutMs, `${prefix}timeoutMs`);
  positive(options.deadlineMs, `${prefix}deadlineMs`);
  atLeastZero(options.departedGraceMs, `${prefix}departedGraceMs`, MAX_TIMER_MS);
  atLeastZero(options.maxDeparted, `${prefix}maxDeparted`, 10_000);
  // Shape only: the certificates themselves are loaded (and checked) once, by the origin pools.
  if (options.tls !== undefined) checkInstanceTls(options.tls, `${prefix}tls`);
  const panic = options.panicThresholdPercent;
  if (panic !== undefined && !(typeof panic === 'number' && panic >= 0 && panic <= 100)) {
    throw new ValidationError(
      `${prefix}panicThresholdPercent`,
      `expected a number in 0..100, got ${String(panic)}`,
    );
  }
  // The packages that own these options check them; failing here beats failing on first call.
  prefixed(prefix, () => {
    resolveExecutorOptions({
      service: 'options',
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      deadlineMs: options.deadlineMs,
      circuitBreaker: options.circuitBreaker,
      bulkhead: options.bulkhead,
      retryBudget: options.retryBudget,
    });
    if (options.outlierDetection) resolveOutlierOptions(options.outlierDetection);
    if (options.healthCheck) resolveHealthCheckOptions(options.healthCheck);
  });
  if (options.slowStart !== undefined) {
    // The factory checks window, aggression and minimum; its errors name the field.
    slowStart(roundRobin(), options.slowStart);
  }
  const locality = options.locality;
  if (locality) {
    if (locality.minClusterSize !== undefined)
      atLeastZero(locality.minClusterSize, `${prefix}locality.minClusterSize`, 1_000_000);
    const factor = locality.overprovisioningFactor;
    if (factor !== undefined && !(typeof factor === 'number' && factor >= 1 && factor <= 100)) {
      throw new ValidationError(
        `${prefix}locality.overprovisioningFactor`,
        `expected a number in 1..100, got ${describeValue(factor)}`,
      );
    }
  }
  const balancer = options.balancer as Partial<Balancer> | undefined;
  if (balancer !== undefined && typeof balancer?.build !== 'function') {
    throw new ValidationError(`${prefix}balancer`, 'expected a Balancer, e.g. roundRobin()');
  }
}

function prefixed(prefix: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof ValidationError) || prefix === '') throw error;
    throw new ValidationError(`${prefix}${error.field}`, error.message.replace(/^invalid [^:]+: /, ''));
  }
}

// setTimeout fires at once beyond 2^31 - 1 ms: a longer duration would silently become 1 ms.
const MAX_TIMER_MS = 2_147_483_647;

function duration(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_TIMER_MS)) {
    throw new ValidationError(
      field,
      `expected a number of ms in 1..${MAX_TIMER_MS}, got ${describeValue(value)}`,
    );
  }
}

function atLeastZero(value: unknown, field: string, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new ValidationError(field, `expected an integer in 0..${max}, got ${describeValue(value)}`);
  }
}

function positive(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError(field, `expected a finite number > 0, got ${String(value)}`);
  }
}
