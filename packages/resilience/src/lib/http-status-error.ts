import { SwitchyardError, type SwitchyardErrorOptions } from '@switchyard/core';

/**
 * An instance answered with a status the caller treats as a failure. Throw it from the
 * function an executor runs: `classifyError` retries 502/503/504 and 429 (honouring
 * `Retry-After` from `headers`) and treats every other status as final.
 *
 * @example
 * const res = await request(url, { signal });
 * if (res.statusCode >= 500) throw new HttpStatusError(res.statusCode, res.headers, { service, instanceId });
 */
export class HttpStatusError extends SwitchyardError {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;

  constructor(
    statusCode: number,
    headers: Readonly<Record<string, string | string[] | undefined>> = {},
    options: SwitchyardErrorOptions = {},
  ) {
    const where = options.instanceId ? ` from instance ${options.instanceId}` : '';
    super(`${options.service ? `${options.service}: ` : ''}HTTP ${statusCode}${where}`, options);
    this.statusCode = statusCode;
    this.headers = headers;
  }
}
