import { abortReason, originOf, type ServiceInstance } from '@switchyard/core';
import { type Dispatcher, request } from 'undici';
import { HealthCheckError } from './health-check-error.ts';

/** What an HTTP probe asks and what it accepts. */
export interface HttpProbeOptions {
  readonly path: string;
  readonly dispatcher: Dispatcher;
  /** Whether the status counts as healthy (default: 2xx). */
  readonly expectedStatus: (status: number) => boolean;
  /** A substring or pattern the body must contain. */
  readonly expectedBody?: string | RegExp | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** How much of the body is read to look for `expectedBody`. */
  readonly maxBodyBytes: number;
}

/**
 * `GET path` on the instance through `options.dispatcher`. Resolves when the status (and the
 * body, if asked) is as expected; rejects with a HealthCheckError saying what was wrong, or
 * with the signal's reason when it aborts first.
 *
 * @example
 * await httpProbe(instance, { path: '/health', dispatcher: agent, expectedStatus: is2xx, maxBodyBytes: 65536 }, signal);
 */
export async function httpProbe(
  instance: ServiceInstance,
  options: HttpProbeOptions,
  signal: AbortSignal,
): Promise<void> {
  const context = { service: instance.service, instanceId: instance.id };
  let response: Dispatcher.ResponseData;
  try {
    response = await request(`${originOf(instance)}${options.path}`, {
      method: 'GET',
      dispatcher: options.dispatcher,
      signal,
      headers: { 'user-agent': 'switchyard-health', ...options.headers },
    });
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    const code = (error as NodeJS.ErrnoException).code;
    throw new HealthCheckError('network', `GET ${options.path}: ${code ?? String(error)}`, {
      ...context,
      cause: error,
    });
  }
  const { statusCode, body } = response;
  if (!options.expectedStatus(statusCode)) {
    // Drain (bounded) so the connection can be reused for the next check.
    await body.dump({ limit: options.maxBodyBytes }).catch(ignore);
    throw new HealthCheckError('status', `GET ${options.path} answered ${statusCode}`, {
      ...context,
      statusCode,
    });
  }
  const expected = options.expectedBody;
  if (expected === undefined) {
    await body.dump({ limit: options.maxBodyBytes }).catch(ignore);
    return;
  }
  const text = await readBounded(instance, body, options.maxBodyBytes, signal);
  // `search` ignores `lastIndex`, so a /g pattern does not alternate between probes.
  const found = typeof expected === 'string' ? text.includes(expected) : text.search(expected) !== -1;
  if (!found) {
    throw new HealthCheckError('body', `GET ${options.path} body does not contain ${String(expected)}`, {
      ...context,
      statusCode,
    });
  }
}

async function readBounded(
  instance: ServiceInstance,
  body: Dispatcher.ResponseData['body'],
  limit: number,
  signal: AbortSignal,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    throw new HealthCheckError('network', `reading the body: ${String(error)}`, {
      service: instance.service,
      instanceId: instance.id,
      cause: error,
    });
  } finally {
    if (!body.destroyed) body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function ignore(): void {}
