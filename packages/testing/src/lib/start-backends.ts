import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  abortReason,
  neverAbortedSignal,
  type ServiceInstance,
  ValidationError,
  validateServiceName,
} from '@switchyard/core';
import { Backend } from './backend.ts';
import type { BackendHandler, BackendOptions } from './backend-handler.ts';

/** The instance fields a test may set on top of id, service, host and port. */
export type InstanceExtras = Partial<Omit<ServiceInstance, 'id' | 'service' | 'host' | 'port'>>;

export interface StartBackendsOptions {
  /** Service name of the instances (default `test`). */
  readonly service?: string;
  /** Loopback address to bind (default `127.0.0.1`). */
  readonly host?: string;
  /** Fixed ports, one per backend; 0 or missing = any free port. */
  readonly ports?: readonly number[];
  /** Answers requests in place of the default JSON echo `{ instance, method, path, body? }`. */
  readonly handler?: BackendHandler;
  /** Extra instance fields (weight, zone, metadata…), the same for all or per index. */
  readonly instance?: InstanceExtras | ((index: number) => InstanceExtras);
  /** Request bodies above this answer 413 (default 1 MiB). */
  readonly maxBodyBytes?: number;
  readonly signal?: AbortSignal;
}

/** The started backends: an array of `Backend` plus helpers for the whole set. */
export type Backends = readonly Backend[] & {
  readonly list: readonly Backend[];
  /** The backends' instances, in order, ready for a registry (`users-1`, `users-2`…). */
  instances(): ServiceInstance[];
  /** The backend with this instance id. */
  byId(id: string): Backend | undefined;
  /** Requests received per instance id (`/health` excluded). */
  counts(): Record<string, number>;
  /** Clears the faults of every backend. */
  reset(): void;
  /** Forgets the requests every backend received. */
  clearLogs(): void;
  /** Closes every server and destroys every socket. */
  close(): Promise<void>;
};

/**
 * Starts `n` real HTTP servers on loopback, one per instance of `service`, with fault
 * injection on each (`down`, `slow`, `failWith`, `hang`, `resetMidBody`, `setHealth`).
 *
 * @example
 * const backends = await startBackends(3, { service: 'users' });
 * registry.register(...backends.instances());
 * backends[1].failWith(503, 1);
 * await backends.close();
 */
export async function startBackends(n: number, options: StartBackendsOptions = {}): Promise<Backends> {
  if (!Number.isInteger(n) || n < 1) {
    throw new ValidationError('n', `expected the number of backends as an integer >= 1, got ${String(n)}`);
  }
  const service = validateServiceName(options.service ?? 'test');
  options.ports?.forEach((port, i) => {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ValidationError(`ports[${i}]`, `expected an integer in 0..65535, got ${String(port)}`);
    }
  });
  const { maxBodyBytes } = options;
  if (maxBodyBytes !== undefined && !(Number.isInteger(maxBodyBytes) && maxBodyBytes >= 0)) {
    throw new ValidationError('maxBodyBytes', `expected an integer >= 0, got ${String(maxBodyBytes)}`);
  }
  const host = options.host ?? '127.0.0.1';
  const signal = options.signal ?? neverAbortedSignal;
  const started: Backend[] = [];
  try {
    for (let i = 0; i < n; i++) {
      if (signal.aborted) throw abortReason(signal);
      const extras = typeof options.instance === 'function' ? options.instance(i) : options.instance;
      started.push(
        await listenBackend({
          host,
          port: options.ports?.[i] ?? 0,
          handler: options.handler,
          maxBodyBytes: options.maxBodyBytes,
          instance: (port) => ({ ...extras, id: `${service}-${i + 1}`, service, host, port }),
        }),
      );
    }
  } catch (error) {
    await Promise.all(started.map((backend) => backend.kill()));
    throw error;
  }
  const list = Object.freeze([...started]);
  return Object.freeze(
    Object.assign([...started], {
      list,
      instances: () => list.map((backend) => backend.instance),
      byId: (id: string) => list.find((backend) => backend.id === id),
      counts: () => Object.fromEntries(list.map((backend) => [backend.id, backend.requests])),
      reset: () => {
        for (const backend of list) backend.reset();
      },
      clearLogs: () => {
        for (const backend of list) backend.clearLog();
      },
      close: async () => {
        await Promise.all(list.map((backend) => backend.kill()));
      },
    }),
  );
}

/** Starts one backend on `host:port` (port 0 = any free port). */
async function listenBackend(
  options: Omit<BackendOptions, 'instance'> & {
    readonly host: string;
    readonly port: number;
    readonly instance: (port: number) => ServiceInstance;
  },
): Promise<Backend> {
  const server = createServer();
  server.keepAliveTimeout = 5_000;
  server.listen({ host: options.host, port: options.port });
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return new Backend(server, { ...options, instance: options.instance(port) });
  } catch (error) {
    // A bad instance (weight, zone…) must not leave a server listening behind.
    server.close();
    throw error;
  }
}
