import type { Clock, ServiceInstance } from '@switchyard/core';
import { HealthCheckError } from './health-check-error.ts';
import { type HttpProbeOptions, httpProbe } from './http-probe.ts';
import { tcpProbe } from './tcp-probe.ts';

/** How one probe runs: over HTTP when `http` is set, else a TCP connect, within `timeoutMs`. */
export interface ProbeSettings {
  readonly http: HttpProbeOptions | undefined;
  readonly timeoutMs: number;
  readonly clock: Clock;
}

/**
 * Runs one probe under a deadline on the injected clock. Resolves with the failure (a
 * HealthCheckError, `timeout` when the deadline hit first) or undefined on success; never
 * rejects. `controller` lets the owner cut the probe short (instance removed, checker closed).
 *
 * @example
 * const failure = await runProbe(instance, { http: undefined, timeoutMs: 2000, clock: systemClock }, new AbortController());
 */
export async function runProbe(
  instance: ServiceInstance,
  settings: ProbeSettings,
  controller: AbortController,
): Promise<HealthCheckError | undefined> {
  const { clock, timeoutMs } = settings;
  let timedOut = false;
  const timer = clock.setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('health check timed out', 'TimeoutError'));
  }, timeoutMs);
  try {
    if (settings.http) await httpProbe(instance, settings.http, controller.signal);
    else await tcpProbe(instance, controller.signal);
    return undefined;
  } catch (error) {
    const context = { service: instance.service, instanceId: instance.id, cause: error };
    if (timedOut) return new HealthCheckError('timeout', `no answer within ${timeoutMs} ms`, context);
    if (error instanceof HealthCheckError) return error;
    return new HealthCheckError('network', String(error), context);
  } finally {
    clock.clearTimeout(timer);
  }
}
