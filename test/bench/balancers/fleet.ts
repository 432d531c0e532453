import type { Balancer, Picker } from '@switchyard/balancers';
import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';

/** `10.a.b.c:8080`: a real-looking id that every library accepts as a server name. */
export const serverName = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`;

/** `n` instances of `service` ('bench'); `weighted`: weights 1, 2, 3, 1, 2, 3… */
export function fleet(n: number, options: { weighted?: boolean; service?: string } = {}): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: serverName(i),
    service: options.service ?? 'bench',
    host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 8080,
    ...(options.weighted ? { weight: 1 + (i % 3) } : {}),
  }));
}

/** A picker of `balancer` over `n` instances whose stats look like a service under load. */
export function loadedPicker(balancer: Balancer, n: number, weighted = false): Picker {
  const instances = fleet(n, { weighted });
  const load = new LoadStats();
  instances.forEach((instance, i) => {
    const stats = load.of(instance);
    stats.inflight = (i * 7) % 4;
    stats.observe(0, 5 + (i % 10));
  });
  return balancer.build(createSnapshot('bench', instances, 1), { load });
}
