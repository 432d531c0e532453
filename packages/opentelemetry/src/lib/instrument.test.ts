import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { AllAttemptsFailedError, switchyardChannels } from '@switchyard/core';
import { switchyard } from '@switchyard/fetch';
import { StaticRegistry } from '@switchyard/registry';
import { type Backends, startBackends } from '@switchyard/testing';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Instrumentation, instrument } from './instrument.ts';
import { METRIC_NAMES } from './switchyard-metrics.ts';

describe('OpenTelemetry with the real SDK over real backends', () => {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 60_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  let backends: Backends;
  let client: ServiceDiscoveryClient;
  let otel: Instrumentation;
  const seenHeaders: Record<string, string | undefined>[] = [];

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    backends = await startBackends(3, {
      service: 'users',
      handler: (req, res, backend) => {
        seenHeaders.push({ traceparent: req.headers.traceparent as string | undefined });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ instance: backend.id }));
      },
    });
  });
  beforeEach(() => {
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 60_000, maxEjectionPercent: 50 },
      circuitBreaker: false,
    });
    otel = instrument({ client, tracerProvider, meterProvider });
    spans.reset();
    seenHeaders.length = 0;
  });
  afterEach(async () => {
    otel.close();
    await client.close();
    backends.reset();
    for (const backend of backends) if (!backend.listening) await backend.up();
  });
  afterAll(async () => {
    await backends.close();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    context.disable();
    propagation.disable();
  });

  const byKind = (kind: number) =>
    spans.getFinishedSpans().filter((span: ReadableSpan) => span.kind === kind);
  const CLIENT = 2;
  const INTERNAL = 0;

  it('one CLIENT span per attempt under one INTERNAL span per call, with the HTTP attributes', async () => {
    const tracer = tracerProvider.getTracer('test');
    await tracer.startActiveSpan('caller', async (caller) => {
      const res = await client.request('users', { method: 'GET', path: '/users/42?token=secret' });
      await res.body.dump();
      caller.end();
    });
    const [attempt] = byKind(CLIENT);
    const [call] = byKind(INTERNAL).filter((span) => span.name === 'switchyard users');
    expect(attempt?.name).toBe('GET');
    expect(attempt?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': 'users',
      'network.peer.address': '127.0.0.1',
      'http.response.status_code': 200,
      'url.full': 'http://users/users/42?token=REDACTED',
    });
    expect(attempt?.attributes['network.peer.port']).toBeTypeOf('number');
    expect(attempt?.attributes['http.request.resend_count']).toBeUndefined();
    // The attempt is the call's child, the call the caller's; trace context reached the backend.
    expect(attempt?.parentSpanContext?.spanId).toBe(call?.spanContext().spanId);
    expect(call?.parentSpanContext?.spanId).toBeDefined();
    expect(seenHeaders[0]?.traceparent).toContain(attempt?.spanContext().spanId);
  });

  it('a killed instance: a failed attempt span (error.type), a retry with resend_count, metrics', async () => {
    await backends[0]?.down();
    for (let i = 0; i < 9; i++) {
      const res = await client.request('users', { method: 'GET', path: '/' });
      await res.body.dump();
    }
    const attempts = byKind(CLIENT);
    const failed = attempts.filter((span) => span.attributes['error.type'] !== undefined);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]?.attributes['error.type']).toBe('ECONNREFUSED');
    expect(failed[0]?.status.code).toBe(2); // ERROR
    const resent = attempts.filter((span) => span.attributes['http.request.resend_count'] === 1);
    expect(resent.length).toBe(failed.length);
    expect(byKind(INTERNAL).filter((span) => span.name === 'switchyard users')).toHaveLength(9);

    await reader.forceFlush();
    const metrics =
      metricExporter
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.flatMap((scope) => scope.metrics) ?? [];
    const named = (name: string) => metrics.find((metric) => metric.descriptor.name === name);
    const duration = named(METRIC_NAMES.requestDuration);
    expect(duration?.descriptor.unit).toBe('s');
    const points = duration?.dataPoints ?? [];
    const refused = points.find((point) => point.attributes['error.type'] === 'ECONNREFUSED');
    expect(refused).toBeDefined();
    expect(points.every((point) => point.attributes['server.address'] === 'users')).toBe(true);
    // Low cardinality by default: no instance ids on the request metric.
    expect(points.some((point) => 'switchyard.instance.id' in point.attributes)).toBe(false);
    expect(named(METRIC_NAMES.retries)?.dataPoints[0]?.value).toBeGreaterThanOrEqual(1);
    expect(named(METRIC_NAMES.ejections)?.dataPoints[0]?.value).toBe(1);
    expect(named(METRIC_NAMES.ejected)?.dataPoints[0]?.value).toBe(1);
    metricExporter.reset();
  });

  it('503 from every instance: attempt spans with status 503, the call span in error', async () => {
    for (const backend of backends) backend.failWith(503, 10);
    const error = await client.request('users', { method: 'GET', path: '/' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllAttemptsFailedError);
    const attempts = byKind(CLIENT);
    expect(attempts).toHaveLength(3);
    expect(attempts.every((span) => span.attributes['http.response.status_code'] === 503)).toBe(true);
    expect(attempts.map((span) => span.attributes['http.request.resend_count'] ?? 0).sort()).toEqual([
      0, 1, 2,
    ]);
    const [call] = byKind(INTERNAL).filter((span) => span.name === 'switchyard users');
    expect(call?.status.code).toBe(2);
    expect(call?.attributes['switchyard.attempts']).toBe(3);
  });

  it('a slow instance: its attempt times out (error.type TimeoutError) and the retry elsewhere succeeds', async () => {
    otel.close();
    await client.close();
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      timeoutMs: 150,
      circuitBreaker: false,
    });
    otel = instrument({ client, tracerProvider, meterProvider });
    backends[1]?.slow(2_000);
    for (let i = 0; i < 6; i++) {
      const res = await client.request('users', { method: 'GET', path: '/' });
      await res.body.dump();
    }
    const attempts = byKind(CLIENT);
    const timedOut = attempts.filter((span) => span.attributes['error.type'] === 'TimeoutError');
    expect(timedOut.length).toBeGreaterThanOrEqual(1);
    expect(timedOut.every((span) => span.attributes['switchyard.instance.id'] === 'users-2')).toBe(true);
    expect(attempts.filter((span) => span.attributes['http.request.resend_count'] === 1)).toHaveLength(
      timedOut.length,
    );
    expect(byKind(INTERNAL).every((span) => span.status.code !== 2)).toBe(true);
  });

  it('fetch through switchyard(): the same HTTP spans and trace context', async () => {
    const agent = new Agent();
    try {
      const dispatcher = agent.compose(switchyard(client));
      const res = await undiciFetch('http://users/orders?token=secret', { dispatcher });
      await res.arrayBuffer();
      const [attempt] = byKind(CLIENT);
      expect(attempt?.name).toBe('GET');
      expect(attempt?.attributes).toMatchObject({
        'http.request.method': 'GET',
        'server.address': 'users',
        'url.full': 'http://users/orders?token=REDACTED',
        'http.response.status_code': 200,
      });
      expect(seenHeaders[0]?.traceparent).toContain(attempt?.spanContext().spanId);
    } finally {
      await agent.close();
    }
  });

  it('spans: false leaves spans (and trace headers) to undici’s own instrumentation', async () => {
    otel.close();
    otel = instrument({ client, tracerProvider, meterProvider, spans: false });
    const res = await client.request('users', { method: 'GET', path: '/' });
    await res.body.dump();
    expect(spans.getFinishedSpans()).toHaveLength(0);
    expect(seenHeaders[0]?.traceparent).toBeUndefined();
  });

  it('filters by client: another client’s calls are not recorded', async () => {
    const other = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
    });
    try {
      const res = await other.request('users', { method: 'GET', path: '/' });
      await res.body.dump();
      expect(spans.getFinishedSpans()).toHaveLength(0);
    } finally {
      await other.close();
    }
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it("calls side by side under their callers' spans: every retry stays in its own call's trace", async () => {
    // A retry starts from undici's callback, outside the caller's async context: the attempt
    // span must still hang under its own call, not under whichever call's context is active.
    await backends[0]?.down();
    const tracer = tracerProvider.getTracer('test');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        tracer.startActiveSpan(`caller-${i}`, async (caller) => {
          const res = await client.request('users', { method: 'GET', path: '/' });
          await res.body.dump();
          caller.end();
        }),
      ),
    );
    const calls = byKind(INTERNAL).filter((span) => span.name === 'switchyard users');
    const attempts = byKind(CLIENT);
    expect(calls).toHaveLength(8);
    expect(attempts.some((span) => span.attributes['http.request.resend_count'] === 1)).toBe(true);
    const traces = new Set(calls.map((call) => call.spanContext().traceId));
    expect(traces.size).toBe(8); // one trace per caller
    for (const call of calls) {
      const own = attempts.filter((span) => span.parentSpanContext?.spanId === call.spanContext().spanId);
      expect(own).toHaveLength(call.attributes['switchyard.attempts'] as number);
      for (const span of own) expect(span.spanContext().traceId).toBe(call.spanContext().traceId);
    }
  });
});

describe('instrument() with no SDK registered', () => {
  it('stays off the channels (calls build no diagnostics) until an SDK appears', () => {
    const idle = instrument();
    try {
      expect(switchyardChannels.callStart.hasSubscribers).toBe(false);
      expect(switchyardChannels.attemptEnd.hasSubscribers).toBe(false);
    } finally {
      idle.close();
    }
    const armed = instrument({ tracerProvider: new BasicTracerProvider() });
    try {
      expect(switchyardChannels.callStart.hasSubscribers).toBe(true);
    } finally {
      armed.close();
    }
    expect(switchyardChannels.callStart.hasSubscribers).toBe(false);
  });
});
