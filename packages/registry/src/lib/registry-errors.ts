import { RegistryUnavailableError, SwitchyardError, type SwitchyardErrorOptions } from '@switchyard/core';

/**
 * The instance id belongs to another registrant until its registration expires or its owner
 * removes it (HTTP 409). Register under another id, or with the owner key that registered it.
 */
export class RegistrationConflictError extends SwitchyardError {
  constructor(service: string, instanceId: string, options: SwitchyardErrorOptions = {}) {
    super(`${service}: instance ${instanceId} is registered by another owner`, {
      ...options,
      service,
      instanceId,
    });
  }
}

/** The registry refused the request: no or wrong token (HTTP 401), or a refused Host (403). */
export class RegistryAccessDeniedError extends SwitchyardError {
  readonly status: number;

  constructor(status: number, detail: string, options: SwitchyardErrorOptions = {}) {
    super(
      options.service
        ? `${options.service}: registry refused access (HTTP ${status}): ${detail}`
        : `registry refused access (HTTP ${status}): ${detail}`,
      options,
    );
    this.status = status;
  }
}

/**
 * The registry is at a cap (watchers, connections) and asked to be left alone for
 * `retryAfterMs` (its 503 `Retry-After`). Still a RegistryUnavailableError; the watch loop waits
 * at least that long before asking again.
 */
export class RegistryBusyError extends RegistryUnavailableError {
  readonly retryAfterMs: number;

  constructor(detail: string, retryAfterMs: number, options: SwitchyardErrorOptions = {}) {
    super(detail, options);
    this.retryAfterMs = retryAfterMs;
  }
}
