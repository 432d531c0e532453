import type { ServiceInstance } from '@switchyard/core';
import type { Dispatcher } from 'undici';
import { HttpStatusError } from './http-status-error.ts';
import type { AttemptSettle, HttpResponse } from './send-request.ts';
import { TlsVerificationError } from './tls-verification-error.ts';

const MAX_ERROR_BODY = 64 * 1024;

/**
 * Ends an attempt with the answer it got. One that says "try another instance" (429, 502, 503,
 * 504: undici's retry handler's set) ends it as `HttpStatusError`, once at most 64 KiB of its
 * body is read.
 */
export function settleAnswer(
  instance: ServiceInstance,
  statusCode: number,
  headers: Dispatcher.ResponseData['headers'],
  trailers: Dispatcher.ResponseData['trailers'],
  body: Dispatcher.ResponseData['body'],
  settle: AttemptSettle<HttpResponse>,
): void {
  if (statusCode === 429 || (statusCode >= 502 && statusCode <= 504)) {
    readCapped(body).then((text) =>
      settle.reject(new HttpStatusError(instance.service, instance.id, statusCode, headers, text)),
    );
    return;
  }
  settle.resolve({ statusCode, headers, trailers, body, instance });
}

/** Ends an attempt that got no answer; a certificate failure becomes `TlsVerificationError`. */
export function settleFailure(
  instance: ServiceInstance,
  servername: string | undefined,
  error: Error,
  settle: AttemptSettle<HttpResponse>,
): void {
  settle.reject(
    TlsVerificationError.matches(error) ? new TlsVerificationError(instance, servername, error) : error,
  );
}

/**
 * Reads at most 64 KiB of an error answer. Past the cap it stops and destroys the body, which
 * closes the connection: an endless (or huge) error body is never drained.
 */
async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      chunks.push(size + bytes.length > MAX_ERROR_BODY ? bytes.subarray(0, MAX_ERROR_BODY - size) : bytes);
      size += bytes.length;
      if (size >= MAX_ERROR_BODY) break; // leaving the loop destroys the body and its socket
    }
  } catch {
    // A body cut short still tells what it had: the status is the error that matters.
  }
  if (!body.destroyed && size >= MAX_ERROR_BODY) body.destroy();
  return Buffer.concat(chunks).toString('utf8');
}
