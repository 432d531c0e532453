import {
  type AttemptMessage,
  type CallMessage,
  type ServiceInstance,
  switchyardChannels,
} from '@switchyard/core';
import type { AttemptContext } from '@switchyard/resilience';
import { HttpStatusError } from './http-status-error.ts';

const { callStart, callEnd, attemptStart, attemptEnd } = switchyardChannels;

/** Whether anyone listens to calls or attempts: nothing is built for a call otherwise. */
export function diagnosticsWanted(): boolean {
  return (
    callStart.hasSubscribers ||
    callEnd.hasSubscribers ||
    attemptStart.hasSubscribers ||
    attemptEnd.hasSubscribers
  );
}

/** An attempt function that may receive headers to add (trace context) as a third argument. */
export type AttemptFn<T> = (
  instance: ServiceInstance,
  context: AttemptContext,
  extraHeaders?: Record<string, string>,
) => Promise<T>;

/**
 * Publishes one call and its attempts on core's diagnostics channels: `callStart`, then per
 * attempt `attemptStart` (HTTP attempts carry a headers object subscribers may add to) and
 * `attemptEnd` with its duration and verdict, then `callEnd`.
 */
export class CallDiagnostics {
  readonly #message: CallMessage;
  readonly #now: () => number;
  readonly #started: number;
  #attempts = 0;

  constructor(message: CallMessage, now: () => number) {
    this.#message = message;
    this.#now = now;
    this.#started = now();
    if (callStart.hasSubscribers) callStart.publish(message);
  }

  /** `fn` with each attempt published around it. */
  wrap<T>(
    fn: AttemptFn<T>,
    succeeded: ((value: T) => boolean) | undefined,
    statusOf?: (value: T) => number,
  ): AttemptFn<T> {
    const call = this.#message;
    return async (instance, context) => {
      const attempt: AttemptMessage = {
        call,
        instance,
        attempt: ++this.#attempts,
        headers: call.kind === 'request' ? {} : undefined,
      };
      if (attemptStart.hasSubscribers) attemptStart.publish(attempt);
      const started = this.#now();
      const headers =
        attempt.headers && Object.keys(attempt.headers).length > 0 ? attempt.headers : undefined;
      try {
        const value = await fn(instance, context, headers);
        if (attemptEnd.hasSubscribers) {
          attemptEnd.publish({
            attempt,
            durationMs: this.#now() - started,
            ok: succeeded ? succeeded(value) : true,
            statusCode: statusOf?.(value),
          });
        }
        return value;
      } catch (error) {
        if (attemptEnd.hasSubscribers) {
          attemptEnd.publish({
            attempt,
            durationMs: this.#now() - started,
            ok: false,
            statusCode: error instanceof HttpStatusError ? error.statusCode : undefined,
            error,
          });
        }
        throw error;
      }
    };
  }

  /** Publishes the call's end. */
  end(error?: unknown): void {
    if (!callEnd.hasSubscribers) return;
    callEnd.publish({
      call: this.#message,
      durationMs: this.#now() - this.#started,
      attempts: this.#attempts,
      ...(error === undefined ? {} : { error }),
    });
  }
}
