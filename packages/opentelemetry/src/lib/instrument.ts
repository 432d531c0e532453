import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  type Attributes,
  type Context,
  context,
  type MeterProvider,
  metrics,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import {
  type AttemptEndMessage,
  type AttemptMessage,
  type CallEndMessage,
  type CallMessage,
  type ClientEventMessage,
  rejectUnknownOptions,
  SWITCHYARD_CHANNELS,
} from '@switchyard/core';
import { errorType } from './error-type.ts';
import { createSwitchyardMetrics } from './switchyard-metrics.ts';

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Only this client's calls (default: every client in the process). */
  readonly client?: object;
  /** Where spans go. Default: the global provider (a no-op until an SDK registers one). */
  readonly tracerProvider?: TracerProvider;
  /** Where metrics go. Default: the global provider. */
  readonly meterProvider?: MeterProvider;
  /**
   * Make spans (default true). Turn off when undici's own instrumentation already makes a span
   * per request, to avoid two spans per attempt; trace context is then left to it too.
   */
  readonly spans?: boolean;
  /** A parent INTERNAL span per call around its attempts' CLIENT spans. Default true. */
  readonly callSpans?: boolean;
  /** Record metrics (default true). */
  readonly metrics?: boolean;
  /** Add `switchyard.instance.id` to per-attempt metrics (high cardinality; default false). */
  readonly instanceLabels?: boolean;
}

/** What {@link instrument} returns: stop instrumenting. */
export interface Instrumentation {
  close(): void;
}

// Query parameters the HTTP semantic conventions ask instrumentations to redact by default.
const SENSITIVE_QUERY = /([?&](?:AWSAccessKeyId|Signature|sig|X-Goog-Signature|token|access_token)=)[^&#]*/gi;

/**
 * Spans and metrics for Switchyard calls, following the HTTP client semantic conventions,
 * from Switchyard's diagnostics channels (no change to the client needed):
 *
 * - one CLIENT span per attempt (`http.request.method`, `url.full`, `server.address` = the
 *   service name, `network.peer.address/port` = the picked instance,
 *   `http.response.status_code`, `error.type`, `http.request.resend_count`), children of one
 *   INTERNAL span per call; W3C trace context injected into each attempt's headers;
 * - `http.client.request.duration` (seconds) and `switchyard.client.*` metrics (picks, retries,
 *   hedges, budget exhaustion, breaker transitions and open breakers, ejections, panic,
 *   registry staleness and recoveries), labelled by service, zone and outcome.
 *
 * Costs nothing while no SDK is registered: it subscribes to the channels only once one is
 * (checking again every 5 s), so calls build no diagnostics until then.
 *
 * @example
 * const otel = instrument({ client });
 * // …
 * otel.close();
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  rejectUnknownOptions(options, [
    'client',
    'tracerProvider',
    'meterProvider',
    'spans',
    'callSpans',
    'metrics',
    'instanceLabels',
  ]);
  const only = options.client;
  const mine = (client: object) => only === undefined || client === only;
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer('@switchyard/opentelemetry');
  const spansOn = options.spans ?? true;
  const callSpansOn = options.callSpans ?? true;
  // Made when an SDK is there (see arm below): the global meter provider is no proxy, so a meter
  // taken earlier would stay a no-op for good.
  let recorder: ReturnType<typeof createSwitchyardMetrics> | undefined;
  const callContexts = new WeakMap<CallMessage, { span: Span | undefined; context: Context }>();
  const attemptSpans = new WeakMap<AttemptMessage, Span>();

  const onCallStart = (message: unknown) => {
    const call = message as CallMessage;
    if (!mine(call.client) || !spansOn) return;
    const parent = context.active();
    if (!callSpansOn) {
      callContexts.set(call, { span: undefined, context: parent });
      return;
    }
    const span = tracer.startSpan(
      `switchyard ${call.service}`,
      { kind: SpanKind.INTERNAL, attributes: { 'switchyard.service': call.service } },
      parent,
    );
    callContexts.set(call, { span, context: trace.setSpan(parent, span) });
  };

  const onCallEnd = (message: unknown) => {
    const end = message as CallEndMessage;
    if (!mine(end.call.client)) return;
    recorder?.callEnded(end);
    const state = callContexts.get(end.call);
    if (!state?.span) return;
    state.span.setAttribute('switchyard.attempts', end.attempts);
    if (end.error !== undefined) {
      state.span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(end.error) });
      state.span.setAttribute('error.type', errorType(end.error));
    }
    state.span.end();
  };

  const onAttemptStart = (message: unknown) => {
    const attempt = message as AttemptMessage;
    const call = attempt.call;
    if (!mine(call.client)) return;
    recorder?.picked(attempt);
    if (!spansOn) return;
    const parent = callContexts.get(call)?.context ?? context.active();
    const { instance } = attempt;
    const attributes: Attributes = {
      'server.address': call.service,
      'network.peer.address': instance.host,
      'network.peer.port': instance.port,
      'switchyard.instance.id': instance.id,
    };
    if (instance.zone !== undefined) attributes['switchyard.instance.zone'] = instance.zone;
    if (attempt.attempt > 1) attributes['http.request.resend_count'] = attempt.attempt - 1;
    let name = call.service;
    if (call.kind === 'request') {
      const method = call.method ?? 'GET';
      name = method;
      attributes['http.request.method'] = method;
      attributes['url.full'] =
        `${instance.secure ? 'https' : 'http'}://${call.service}${(call.path ?? '/').replace(SENSITIVE_QUERY, '$1REDACTED')}`;
    }
    const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
    attemptSpans.set(attempt, span);
    if (attempt.headers) propagation.inject(trace.setSpan(parent, span), attempt.headers);
  };

  const onAttemptEnd = (message: unknown) => {
    const end = message as AttemptEndMessage;
    if (!mine(end.attempt.call.client)) return;
    recorder?.attemptEnded(end);
    const span = attemptSpans.get(end.attempt);
    if (!span) return;
    if (end.statusCode !== undefined) span.setAttribute('http.response.status_code', end.statusCode);
    if (end.error !== undefined) {
      span.setAttribute('error.type', errorType(end.error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(end.error) });
    } else if (end.statusCode !== undefined && end.statusCode >= 400) {
      span.setAttribute('error.type', String(end.statusCode));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };

  const onEvent = (message: unknown) => {
    const event = message as ClientEventMessage;
    if (!mine(event.client)) return;
    recorder?.event(event.name, event.payload);
  };

  const subscriptions: [string, (message: unknown) => void][] = [
    [SWITCHYARD_CHANNELS.callStart, onCallStart],
    [SWITCHYARD_CHANNELS.callEnd, onCallEnd],
    [SWITCHYARD_CHANNELS.attemptStart, onAttemptStart],
    [SWITCHYARD_CHANNELS.attemptEnd, onAttemptEnd],
    [SWITCHYARD_CHANNELS.event, onEvent],
  ];
  // Until an SDK is registered, the API is a no-op: stay unsubscribed, so that calls build no
  // diagnostics at all, and look again every few seconds (an SDK may start after us).
  let subscribed = false;
  let closed = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  const arm = () => {
    if (closed || subscribed || !collecting(options)) return;
    subscribed = true;
    if (timer) clearInterval(timer);
    if (options.metrics ?? true) {
      const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
        '@switchyard/opentelemetry',
      );
      recorder = createSwitchyardMetrics(meter, options.instanceLabels ?? false);
    }
    for (const [name, listener] of subscriptions) subscribe(name, listener);
  };
  arm();
  if (!subscribed) {
    timer = setInterval(arm, SDK_POLL_MS);
    timer.unref();
  }
  return {
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      if (subscribed) for (const [name, listener] of subscriptions) unsubscribe(name, listener);
    },
  };
}

/** How often an idle instrumentation looks for a registered SDK. */
const SDK_POLL_MS = 5_000;

/**
 * Whether anything would collect what we make: an explicit provider, or a global one an SDK
 * registered. The global tracer provider is a proxy that has a delegate only once an SDK is
 * registered; the global meter provider is the API's no-op one until then.
 */
function collecting(options: InstrumentOptions): boolean {
  if (options.tracerProvider || options.meterProvider) return true;
  const spans = (options.spans ?? true) && hasGlobalTracer();
  const measures =
    (options.metrics ?? true) && metrics.getMeterProvider().constructor.name !== 'NoopMeterProvider';
  return spans || measures;
}

function hasGlobalTracer(): boolean {
  const provider = trace.getTracerProvider() as TracerProvider & {
    getDelegateTracer?: (name: string) => unknown;
  };
  return (
    typeof provider.getDelegateTracer !== 'function' ||
    provider.getDelegateTracer('@switchyard/opentelemetry') !== undefined
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 300) : String(error).slice(0, 300);
}
