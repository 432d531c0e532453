// The root README's Usage snippet, run in plain Node from the installed tarballs against real
// local backends: first over a StaticRegistry, then over the embedded registry server with
// HttpRegistry, the backends registering themselves with registerSelf. Exits non-zero when an
// answer is wrong, and when anything is still running after every close().
import { strict as assert } from 'node:assert';
import { createHook } from 'node:async_hooks';
import { createServer } from 'node:http';
import { consistentHash, leastConnections } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { createRegistryServer, HttpRegistry, registerSelf, StaticRegistry } from '@switchyard/registry';

/** One real HTTP backend on 127.0.0.1 answering `{ from, path }`. */
async function startBackend(service, id) {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ from: id, path: req.url }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const instance = { id, service, host: '127.0.0.1', port: server.address().port };
  const close = () => new Promise((resolve) => server.close(resolve));
  return { instance, close };
}

// undici's pool.request() makes one 'UNDICI_REQUEST' async resource per request; client.request
// goes through undici's dispatch API with a handler of its own, and makes none. Zero proves the
// installed undici still has the body class that path needs.
let undiciRequestHandlers = 0;
const requestHandlers = createHook({
  init(_id, type) {
    if (type === 'UNDICI_REQUEST') undiciRequestHandlers++;
  },
});

async function loadCart(instance, signal) {
  const res = await fetch(`http://${instance.host}:${instance.port}/carts/user-42`, { signal });
  return res.json();
}

/** The snippet, with `registry` in place of its HttpRegistry on port 8500. */
async function usage(registry) {
  const client = new ServiceDiscoveryClient({
    registry,
    balancer: leastConnections(),
    retry: { maxAttempts: 3, backoff: { initialMs: 25, maxMs: 1_000 } },
    timeoutMs: 2_000,
    services: { carts: { balancer: consistentHash() } },
  });

  requestHandlers.enable();
  const res = await client.request('users', { method: 'GET', path: '/users/42' });
  const user = await res.body.json();
  requestHandlers.disable();

  // Any protocol: you get the instance and a signal that aborts on timeout or cancellation.
  const cart = await client.callService('carts', (instance, { signal }) => loadCart(instance, signal), {
    hashKey: 'user-42',
  });
  // Beyond the snippet: the same hashKey keeps going to the same instance.
  const again = new Set();
  for (let i = 0; i < 5; i++) {
    const c = await client.callService('carts', (instance, { signal }) => loadCart(instance, signal), {
      hashKey: 'user-42',
    });
    again.add(c.from);
  }
  await client.close();

  assert.equal(user.path, '/users/42');
  assert.equal(undiciRequestHandlers, 0, 'client.request went through pool.request(), not the dispatch API');
  assert.match(user.from, /^users-\d$/);
  assert.equal(cart.path, '/carts/user-42');
  assert.deepEqual([...again], [cart.from]);
  return `GET /users/42 answered by ${user.from}; carts for user-42 from ${cart.from} (6 of 6 calls)`;
}

const backends = await Promise.all([
  startBackend('users', 'users-1'),
  startBackend('users', 'users-2'),
  startBackend('carts', 'carts-1'),
  startBackend('carts', 'carts-2'),
  startBackend('carts', 'carts-3'),
]);
const byService = (service) => backends.map((b) => b.instance).filter((i) => i.service === service);

const staticRegistry = new StaticRegistry({ users: byService('users'), carts: byService('carts') });
console.log(`StaticRegistry: ${await usage(staticRegistry)}`);
await staticRegistry.close?.();

const server = await createRegistryServer({ port: 0 });
const writer = new HttpRegistry({ url: server.url });
const registrations = backends.map((b) => registerSelf(writer, b.instance, { ttlMs: 5_000 }));
await Promise.all(registrations.map((r) => r.ready));
const reader = new HttpRegistry({ url: server.url });
console.log(`embedded registry + HttpRegistry + registerSelf: ${await usage(reader)}`);

await Promise.all(registrations.map((r) => r.close()));
const left = await reader.resolve('users').then(
  (list) => list.length,
  () => 0,
);
assert.equal(left, 0, 'every backend deregistered on close()');
console.log('registerSelf close(): every backend deregistered');
await Promise.all([reader.close(), writer.close()]);
await server.close();
await Promise.all(backends.map((b) => b.close()));

// Nothing may keep the process alive once everything is closed.
setTimeout(() => {
  console.error('still running 5 s after close():', process.getActiveResourcesInfo());
  process.exit(1);
}, 5_000).unref();
process.on('exit', (code) => {
  if (code === 0) console.log('usage: the process exited on its own after close()');
});
