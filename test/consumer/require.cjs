// A CommonJS consumer: require() of the ESM-only packages (Node >= 20.19 and >= 22.12 load ESM
// from require() when it has no top-level await), then a real call through the client.
const assert = require('node:assert/strict');
const { createServer } = require('node:http');
const { ServiceDiscoveryClient } = require('@switchyard/client');
const { StaticRegistry } = require('@switchyard/registry');
const { roundRobin } = require('@switchyard/balancers');
const { ValidationError } = require('@switchyard/core');

async function main() {
  const server = createServer((req, res) => res.end(`hello from ${req.url}`));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const registry = new StaticRegistry({
    hello: [{ id: 'hello-1', service: 'hello', host: '127.0.0.1', port: server.address().port }],
  });
  const client = new ServiceDiscoveryClient({ registry, balancer: roundRobin() });
  const res = await client.request('hello', { method: 'GET', path: '/cjs' });
  const text = await res.body.text();
  await client.close();
  await new Promise((resolve) => server.close(resolve));
  assert.equal(text, 'hello from /cjs');
  assert.throws(
    () => new StaticRegistry({ hello: [{ id: '', service: 'hello', host: 'x', port: 0 }] }),
    ValidationError,
  );
  console.log(`CommonJS require('@switchyard/client'): ${text}; ValidationError is catchable by class`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
