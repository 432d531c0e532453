// A TypeScript consumer, type-checked with `nodenext` and with `bundler` resolution against the
// installed tarballs' declarations (skipLibCheck off), then run in plain Node after emit.
import { consistentHash, roundRobin } from '@switchyard/balancers';
import { ServiceDiscoveryClient, type ServiceDiscoveryClientOptions } from '@switchyard/client';
import { type Registry, type ServiceInstance, SwitchyardError, ValidationError } from '@switchyard/core';
import { StaticRegistry } from '@switchyard/registry';

const instance: ServiceInstance = { id: 'users-1', service: 'users', host: '127.0.0.1', port: 8080 };
// @ts-expect-error the declarations are real types: a port is a number
const wrong: ServiceInstance = { id: 'users-2', service: 'users', host: '127.0.0.1', port: '8080' };
void wrong;

const registry: Registry = new StaticRegistry({ users: [instance] });
const options: ServiceDiscoveryClientOptions = {
  registry,
  balancer: roundRobin(),
  services: { carts: { balancer: consistentHash({ virtualNodes: 100 }) } },
};
const client = new ServiceDiscoveryClient(options);
client.on('ejected', ({ instanceId }) => console.log(`ejected ${instanceId.toUpperCase()}`));
const instances: readonly ServiceInstance[] = await client.getInstances('users');
await client.close();

let rejected = false;
try {
  new StaticRegistry({ users: [{ ...instance, port: 0 }] });
} catch (error) {
  rejected = error instanceof ValidationError && error instanceof SwitchyardError;
}
if (instances.length !== 1 || !rejected) throw new Error('unexpected answer');
console.log(
  `TypeScript consumer (compiled): ${instances.map((i) => i.id).join()} resolved; bad port rejected`,
);
