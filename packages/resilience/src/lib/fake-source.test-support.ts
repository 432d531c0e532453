import { LoadStats, type ServiceInstance } from '@switchyard/core';
import type { InstanceSource } from './executor-types.ts';

/** An in-memory InstanceSource for tests: round robin over `instances`, honouring `excluded`. */
export class FakeSource implements InstanceSource {
  readonly load = new LoadStats();
  instances: ServiceInstance[];
  /** Ids returned by pick, in order. */
  readonly picks: string[] = [];
  #next = 0;

  constructor(instances: ServiceInstance[]) {
    this.instances = instances;
  }

  pick(excluded: (instance: ServiceInstance) => boolean): ServiceInstance | undefined {
    const n = this.instances.length;
    for (let i = 0; i < n; i++) {
      const instance = this.instances[(this.#next + i) % n]!;
      if (!excluded(instance)) {
        this.#next = (this.#next + i + 1) % n;
        this.picks.push(instance.id);
        return instance;
      }
    }
    return undefined;
  }
}

/** `count` instances of `service` on 127.0.0.1, ports from `firstPort`. */
export function instances(count: number, service = 'users', firstPort = 9001): ServiceInstance[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${service}-${i + 1}`,
    service,
    host: '127.0.0.1',
    port: firstPort + i,
  }));
}

/** An error shaped like Node's / undici's network errors. */
export function netError(code: string): Error {
  return Object.assign(new Error(`simulated ${code}`), { code });
}

/** An error shaped like an HTTP client's status error. */
export function statusError(statusCode: number, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`status ${statusCode}`), { statusCode, headers });
}
