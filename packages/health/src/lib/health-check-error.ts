import { SwitchyardError, type SwitchyardErrorOptions } from '@switchyard/core';

/** Why an active check failed: the answer was wrong, too slow, or the connection failed. */
export type HealthCheckFailure = 'status' | 'body' | 'timeout' | 'network';

/**
 * One failed active health check. Carried by the checker's `unhealthy` event; `cause` holds
 * the network error when there was one.
 *
 * @example
 * checker.events.on('unhealthy', ({ error }) => {
 *   if (error instanceof HealthCheckError && error.failure === 'status') console.log(error.statusCode);
 * });
 */
export class HealthCheckError extends SwitchyardError {
  readonly failure: HealthCheckFailure;
  /** The HTTP status, when an answer arrived. */
  readonly statusCode: number | undefined;

  constructor(
    failure: HealthCheckFailure,
    detail: string,
    options: SwitchyardErrorOptions & { statusCode?: number } = {},
  ) {
    const where = options.service ? `${options.service}: ` : '';
    const what = options.instanceId ? `health check of ${options.instanceId}` : 'health check';
    super(`${where}${what} failed: ${detail}`, options);
    this.failure = failure;
    this.statusCode = options.statusCode;
  }
}
