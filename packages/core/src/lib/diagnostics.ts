import { channel } from 'node:diagnostics_channel';
import type { ServiceInstance } from './service-instance.ts';

/**
 * `node:diagnostics_channel` channels Switchyard publishes on, as undici does, so APMs,
 * metrics and dashboards can subscribe without a dependency. Nothing is built or published
 * while a channel has no subscriber.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe(SWITCHYARD_CHANNELS.attemptEnd, (m) => {
 *   const { attempt, durationMs, ok } = m as AttemptEndMessage;
 *   console.log(attempt.call.service, attempt.instance.id, durationMs, ok);
 * });
 */
export const SWITCHYARD_CHANNELS = Object.freeze({
  /** A call starts (`callService` or `request`): {@link CallMessage}. */
  callStart: 'switchyard:call:start',
  /** A call settled: {@link CallEndMessage}. */
  callEnd: 'switchyard:call:end',
  /** An attempt was picked an instance and is about to be sent: {@link AttemptMessage}. */
  attemptStart: 'switchyard:attempt:start',
  /** An attempt settled: {@link AttemptEndMessage}. */
  attemptEnd: 'switchyard:attempt:end',
  /** A client event (ejection, breaker change, registry staleness…): {@link ClientEventMessage}. */
  event: 'switchyard:event',
});

/**
 * One call, as published on `callStart`; the same object rides on its attempts and its end, so
 * subscribers keep their own state (a span) in a WeakMap keyed by it.
 */
export interface CallMessage {
  /** The client that runs the call (subscribers serving one client filter on it). */
  readonly client: object;
  readonly service: string;
  /** `request` for HTTP calls through the client, `call` for `callService`. */
  readonly kind: 'request' | 'call';
  readonly method?: string | undefined;
  readonly path?: string | undefined;
}

export interface CallEndMessage {
  readonly call: CallMessage;
  readonly durationMs: number;
  readonly attempts: number;
  /** Undefined when the call succeeded. */
  readonly error?: unknown;
}

/** One attempt, as published on `attemptStart`. */
export interface AttemptMessage {
  readonly call: CallMessage;
  readonly instance: ServiceInstance;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** HTTP attempts only: headers a subscriber may add to (trace context), sent with the request. */
  readonly headers?: Record<string, string> | undefined;
}

export interface AttemptEndMessage {
  readonly attempt: AttemptMessage;
  readonly durationMs: number;
  /** Whether the attempt counts as a success (a 5xx answer does not). */
  readonly ok: boolean;
  readonly statusCode?: number | undefined;
  readonly error?: unknown;
}

export interface ClientEventMessage {
  readonly client: object;
  readonly name: string;
  readonly payload: unknown;
}

/** The channels as objects (cheap `hasSubscribers` checks on hot paths). */
export const switchyardChannels = {
  callStart: channel(SWITCHYARD_CHANNELS.callStart),
  callEnd: channel(SWITCHYARD_CHANNELS.callEnd),
  attemptStart: channel(SWITCHYARD_CHANNELS.attemptStart),
  attemptEnd: channel(SWITCHYARD_CHANNELS.attemptEnd),
  event: channel(SWITCHYARD_CHANNELS.event),
};
