import { SwitchyardError } from '@switchyard/core';
import type { IncomingHttpHeaders } from 'undici/types/header.js';

/**
 * An instance answered with a status worth retrying elsewhere (429, 502, 503, 504) and every
 * attempt allowed got one. Carries the last answer, body included (up to 64 KiB).
 */
export class HttpStatusError extends SwitchyardError {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;

  constructor(
    service: string,
    instanceId: string,
    statusCode: number,
    headers: IncomingHttpHeaders,
    body: string,
  ) {
    super(`${service}: instance ${instanceId} answered ${statusCode}`, { service, instanceId });
    this.statusCode = statusCode;
    this.headers = headers;
    this.body = body;
  }
}
