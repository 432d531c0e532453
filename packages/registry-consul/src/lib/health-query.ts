import { RegistryProtocolError, type ServiceInstance } from '@switchyard/core';
import { decodeHealthEntries, type RejectedConsulEntry } from './consul-entry.ts';
import { consulRequest, statusError } from './consul-http.ts';
import type { ResolvedConsulOptions } from './consul-options.ts';

/** One answer of the health endpoint: the passing instances, the rejected entries, `X-Consul-Index`. */
export interface HealthAnswer {
  readonly instances: readonly ServiceInstance[];
  readonly rejected: readonly RejectedConsulEntry[];
  readonly index: number | undefined;
}

/**
 * `GET /v1/health/service/<service>?passing` with the datacenter, tag and read-mode options.
 * An answer over `maxResponseBytes` or with more than `maxInstances` entries is refused with
 * RegistryProtocolError (a watch then keeps its last list).
 * With `index > 0` it is a blocking query: Consul holds it up to `wait` (plus up to wait/16 of
 * its own jitter), so the deadline is wait + wait/16 + the normal request timeout.
 *
 * @example
 * const { instances, index } = await queryHealth(options, 'users', { index: 0 });
 */
export async function queryHealth(
  options: ResolvedConsulOptions,
  service: string,
  call: { readonly index: number; readonly signal?: AbortSignal | undefined },
): Promise<HealthAnswer> {
  const params = new URLSearchParams({ passing: '1' });
  if (options.datacenter) params.set('dc', options.datacenter);
  if (options.tag) params.set('tag', options.tag);
  if (options.consistency !== 'default') params.set(options.consistency, '');
  const blocking = call.index > 0;
  if (blocking) {
    params.set('index', String(call.index));
    params.set('wait', `${Math.ceil(options.waitMs)}ms`);
  }
  const timeoutMs = blocking
    ? options.waitMs + options.waitMs / 16 + options.requestTimeoutMs
    : options.requestTimeoutMs;
  const answer = await consulRequest(
    options,
    'GET',
    `/v1/health/service/${encodeURIComponent(service)}?${params}`,
    { timeoutMs, signal: call.signal, service },
  );
  if (answer.status !== 200) throw statusError(answer, 'health query', service);
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch (error) {
    throw new RegistryProtocolError(`health answer is not JSON: ${(error as Error).message}`, {
      service,
      cause: error,
    });
  }
  if (!Array.isArray(body)) {
    throw new RegistryProtocolError(`health answer is not a JSON array`, { service });
  }
  if (body.length > options.maxInstances) {
    throw new RegistryProtocolError(
      `health answer has ${body.length} entries, more than maxInstances (${options.maxInstances})`,
      { service },
    );
  }
  const { instances, rejected } = decodeHealthEntries(service, body);
  return { instances, rejected, index: answer.index };
}
