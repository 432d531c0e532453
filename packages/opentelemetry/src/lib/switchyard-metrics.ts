import type { Attributes, Meter } from '@opentelemetry/api';
import type { AttemptEndMessage, AttemptMessage, CallEndMessage } from '@switchyard/core';
import { errorType } from './error-type.ts';

/** The metric names, as the README lists them. */
export const METRIC_NAMES = Object.freeze({
  requestDuration: 'http.client.request.duration',
  callDuration: 'switchyard.client.call.duration',
  picks: 'switchyard.client.picks',
  retries: 'switchyard.client.retries',
  hedges: 'switchyard.client.hedges',
  budgetExhausted: 'switchyard.client.retry_budget.exhausted',
  breakerTransitions: 'switchyard.client.breaker.transitions',
  breakersOpen: 'switchyard.client.breakers.open',
  ejections: 'switchyard.client.outlier.ejections',
  ejected: 'switchyard.client.outlier.ejected',
  panic: 'switchyard.client.panic',
  registryStale: 'switchyard.client.registry.stale',
  registryRecoveries: 'switchyard.client.registry.recoveries',
});

// The HTTP semantic conventions' advised boundaries for request durations, in seconds.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Turns channel messages and client events into OpenTelemetry instruments. */
export function createSwitchyardMetrics(meter: Meter, instanceLabels: boolean) {
  const requestDuration = meter.createHistogram(METRIC_NAMES.requestDuration, {
    unit: 's',
    description: 'Duration of HTTP client requests (one per attempt).',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const callDuration = meter.createHistogram(METRIC_NAMES.callDuration, {
    unit: 's',
    description: 'Duration of whole Switchyard calls, across their attempts.',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const picks = meter.createCounter(METRIC_NAMES.picks, { description: 'Instances picked for an attempt.' });
  const retries = meter.createCounter(METRIC_NAMES.retries, { description: 'Attempts after the first.' });
  const hedges = meter.createCounter(METRIC_NAMES.hedges, { description: 'Hedged attempts started.' });
  const budget = meter.createCounter(METRIC_NAMES.budgetExhausted, {
    description: 'Retries refused because the retry budget was spent.',
  });
  const transitions = meter.createCounter(METRIC_NAMES.breakerTransitions, {
    description: 'Circuit breaker state changes.',
  });
  const breakersOpen = meter.createUpDownCounter(METRIC_NAMES.breakersOpen, {
    description: 'Instances whose breaker is open or half-open.',
  });
  const ejections = meter.createCounter(METRIC_NAMES.ejections, { description: 'Outlier ejections.' });
  const ejected = meter.createUpDownCounter(METRIC_NAMES.ejected, { description: 'Instances ejected now.' });
  const panic = meter.createUpDownCounter(METRIC_NAMES.panic, {
    description: 'Services in panic mode (routing to all instances).',
  });
  const stale = meter.createUpDownCounter(METRIC_NAMES.registryStale, {
    description: 'Services served from a stale list (the registry failed).',
  });
  const recoveries = meter.createCounter(METRIC_NAMES.registryRecoveries, {
    description: 'Registry watches that recovered after failing.',
  });
  const staleServices = new Set<string>();
  const openBreakers = new Set<string>();

  return {
    picked(attempt: AttemptMessage): void {
      const attributes: Attributes = { 'switchyard.service': attempt.call.service };
      if (attempt.instance.zone !== undefined) attributes['switchyard.zone'] = attempt.instance.zone;
      if (instanceLabels) attributes['switchyard.instance.id'] = attempt.instance.id;
      picks.add(1, attributes);
      if (attempt.attempt > 1) retries.add(1, { 'switchyard.service': attempt.call.service });
    },
    attemptEnded(end: AttemptEndMessage): void {
      const { call, instance } = end.attempt;
      if (call.kind !== 'request') return;
      const attributes: Attributes = {
        'http.request.method': call.method ?? 'GET',
        'server.address': call.service,
      };
      if (end.statusCode !== undefined) attributes['http.response.status_code'] = end.statusCode;
      if (end.error !== undefined) attributes['error.type'] = errorType(end.error);
      else if (end.statusCode !== undefined && end.statusCode >= 400)
        attributes['error.type'] = String(end.statusCode);
      if (instanceLabels) attributes['switchyard.instance.id'] = instance.id;
      requestDuration.record(end.durationMs / 1_000, attributes);
    },
    callEnded(end: CallEndMessage): void {
      callDuration.record(end.durationMs / 1_000, {
        'switchyard.service': end.call.service,
        'switchyard.outcome': end.error === undefined ? 'success' : 'failure',
      });
    },
    event(name: string, payload: unknown): void {
      const record = (payload ?? {}) as { service?: unknown; instanceId?: unknown };
      const service = typeof record.service === 'string' ? record.service : 'unknown';
      const attributes: Attributes = { 'switchyard.service': service };
      const key = `${service}\u0000${String(record.instanceId)}`;
      switch (name) {
        case 'hedge':
          hedges.add(1, attributes);
          break;
        case 'budgetExhausted':
          budget.add(1, attributes);
          break;
        case 'breakerOpen':
          transitions.add(1, { ...attributes, 'switchyard.breaker.state': 'open' });
          if (!openBreakers.has(key)) {
            openBreakers.add(key);
            breakersOpen.add(1, attributes);
          }
          break;
        case 'breakerHalfOpen':
          transitions.add(1, { ...attributes, 'switchyard.breaker.state': 'half_open' });
          break;
        case 'breakerClose':
          transitions.add(1, { ...attributes, 'switchyard.breaker.state': 'closed' });
          if (openBreakers.delete(key)) breakersOpen.add(-1, attributes);
          break;
        case 'ejected':
          ejections.add(1, attributes);
          ejected.add(1, attributes);
          break;
        case 'restored':
          ejected.add(-1, attributes);
          break;
        case 'panic':
          panic.add(1, attributes);
          break;
        case 'panicOver':
          panic.add(-1, attributes);
          break;
        case 'registryStale':
          if (!staleServices.has(service)) {
            staleServices.add(service);
            stale.add(1, attributes);
          }
          break;
        case 'registryRecovered':
          recoveries.add(1, attributes);
          if (staleServices.delete(service)) stale.add(-1, attributes);
          break;
        default:
          break;
      }
    },
  };
}
