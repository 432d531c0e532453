import { connect } from 'node:net';
import { abortReason, type ServiceInstance } from '@switchyard/core';
import { HealthCheckError } from './health-check-error.ts';

/**
 * Healthy when a TCP connection to the instance opens; the socket is destroyed at once.
 * Rejects with a HealthCheckError (`network`) when the connection fails, or with the signal's
 * reason when it aborts first (the caller's timeout).
 *
 * @example
 * await tcpProbe({ id: 'db-1', service: 'db', host: '127.0.0.1', port: 5432 }, AbortSignal.timeout(2000));
 */
export function tcpProbe(instance: ServiceInstance, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: instance.host, port: instance.port });
    // The probe has its own deadline; an open probe socket must never hold the process.
    socket.unref();
    const finish = (error?: unknown) => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', ignore);
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => finish(abortReason(signal));
    socket.once('connect', () => finish());
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish(
        new HealthCheckError(
          'network',
          `tcp connect to ${instance.host}:${instance.port}: ${error.code ?? error.message}`,
          {
            service: instance.service,
            instanceId: instance.id,
            cause: error,
          },
        ),
      ),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function ignore(): void {}
