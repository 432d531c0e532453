/** What every Switchyard error can say about where it happened. */
export interface SwitchyardErrorOptions {
  readonly service?: string | undefined;
  readonly instanceId?: string | undefined;
  readonly cause?: unknown;
}

/** Base class: catch this to catch anything Switchyard raises on purpose. */
export class SwitchyardError extends Error {
  readonly service: string | undefined;
  readonly instanceId: string | undefined;

  constructor(message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.service = options.service;
    this.instanceId = options.instanceId;
  }
}

/** Discovery knows the service but no instance can take this call now. */
export class NoAvailableInstanceError extends SwitchyardError {
  constructor(service: string, detail = 'no instance is available', options: SwitchyardErrorOptions = {}) {
    super(`${service}: ${detail}`, { ...options, service });
  }
}

/** The registry has never heard of this service. */
export class ServiceNotFoundError extends SwitchyardError {
  constructor(service: string, options: SwitchyardErrorOptions = {}) {
    super(`${service}: service not found in the registry`, { ...options, service });
  }
}

/** The registry could not be reached or answered with a server error. */
export class RegistryUnavailableError extends SwitchyardError {
  constructor(detail: string, options: SwitchyardErrorOptions = {}) {
    super(
      options.service
        ? `${options.service}: registry unavailable: ${detail}`
        : `registry unavailable: ${detail}`,
      options,
    );
  }
}

/** The registry answered, but the answer breaks the protocol (bad status, bad JSON, bad shape). */
export class RegistryProtocolError extends SwitchyardError {
  constructor(detail: string, options: SwitchyardErrorOptions = {}) {
    super(
      options.service
        ? `${options.service}: registry protocol error: ${detail}`
        : `registry protocol error: ${detail}`,
      options,
    );
  }
}

/** The instance's circuit breaker is open: the call was not sent. */
export class CircuitOpenError extends SwitchyardError {
  constructor(service: string, instanceId?: string, options: SwitchyardErrorOptions = {}) {
    super(instanceId ? `${service}: circuit open for instance ${instanceId}` : `${service}: circuit open`, {
      ...options,
      service,
      instanceId,
    });
  }
}

/** An attempt or the whole call ran past its time. */
export class TimeoutError extends SwitchyardError {
  readonly timeoutMs: number;
  readonly scope: 'attempt' | 'call';

  constructor(
    service: string,
    timeoutMs: number,
    scope: 'attempt' | 'call',
    options: SwitchyardErrorOptions = {},
  ) {
    super(
      `${service}: ${scope === 'call' ? 'call deadline' : 'attempt timeout'} of ${timeoutMs} ms exceeded`,
      {
        ...options,
        service,
      },
    );
    this.timeoutMs = timeoutMs;
    this.scope = scope;
  }
}

/** A retry was needed, but retries already make up too much of recent traffic. */
export class RetryBudgetExceededError extends SwitchyardError {
  constructor(service: string, options: SwitchyardErrorOptions = {}) {
    super(`${service}: retry budget exhausted; failing fast instead of retrying`, { ...options, service });
  }
}

/** The service's bulkhead is full: the call was not started. */
export class BulkheadRejectedError extends SwitchyardError {
  constructor(service: string, options: SwitchyardErrorOptions = {}) {
    super(`${service}: bulkhead full; call rejected`, { ...options, service });
  }
}

/**
 * The attempt failed after the request may have reached the instance, and the request is not
 * idempotent, so it was deliberately not sent again. `cause` is the attempt's error.
 */
export class NotRetriedError extends SwitchyardError {
  readonly reason: string;

  constructor(service: string, reason: string, options: SwitchyardErrorOptions = {}) {
    super(`${service}: not retried: ${reason}`, { ...options, service });
    this.reason = reason;
  }
}

/** Input that breaks the contract. `field` names what was wrong (`port`, `weight`, `metadata.zone`…). */
export class ValidationError extends SwitchyardError {
  readonly field: string;

  constructor(field: string, detail: string, options: SwitchyardErrorOptions = {}) {
    super(`invalid ${field}: ${detail}`, options);
    this.field = field;
  }
}

/**
 * The client was closed: raised by any call made after `close()`, and the abort reason of calls
 * that were in flight when `close()` ran. Not a "try again" error: this client will not serve.
 */
export class ClientClosedError extends SwitchyardError {
  constructor(service?: string, options: SwitchyardErrorOptions = {}) {
    super(service ? `${service}: the client is closed` : 'the client is closed', { ...options, service });
  }
}

/** One failed attempt of a call: which instance it went to, and what went wrong. */
export interface FailedAttempt {
  readonly attempt: number;
  readonly instanceId: string | undefined;
  readonly error: unknown;
}

/**
 * Every attempt of a call failed. Names the service, the attempts and the instances tried;
 * `cause` is the last attempt's error.
 */
export class AllAttemptsFailedError extends SwitchyardError {
  readonly attempts: readonly FailedAttempt[];
  readonly instancesTried: readonly string[];

  constructor(service: string, attempts: readonly FailedAttempt[], options: SwitchyardErrorOptions = {}) {
    const tried = [...new Set(attempts.flatMap((a) => (a.instanceId === undefined ? [] : [a.instanceId])))];
    const last = attempts.at(-1);
    const lastMessage = last?.error instanceof Error ? last.error.message : String(last?.error);
    super(
      `${service}: all ${attempts.length} attempt${attempts.length === 1 ? '' : 's'} failed` +
        (tried.length > 0 ? ` (instances tried: ${tried.join(', ')})` : '') +
        `; last error: ${lastMessage}`,
      { cause: last?.error, instanceId: last?.instanceId, ...options, service },
    );
    this.attempts = Object.freeze([...attempts]);
    this.instancesTried = Object.freeze(tried);
  }
}
