/**
 * One instance of the "hello" service, as its own process: serves HTTP, registers itself with
 * the registry (TTL 1.5 s, heartbeat every 0.5 s) and drains on SIGTERM: deregisters, answers
 * /health with 503 and keeps serving for 1 s while callers catch up, then closes.
 *
 *   node --import tsx examples/quickstart/backend.ts <id> <registry-url>
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRegistry, registerSelf } from '@switchyard/registry';

const [id, registryUrl] = process.argv.slice(2);
if (!id || !registryUrl) {
  console.error('usage: backend.ts <id> <registry-url>');
  process.exit(2);
}

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.statusCode = registration.draining ? 503 : 200; // active checks stop calling at once
    res.end();
    return;
  }
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ from: id, path: req.url }));
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

const registry = new HttpRegistry({ url: registryUrl });
const registration = registerSelf(
  registry,
  { id, service: 'hello', host: '127.0.0.1', port },
  { ttlMs: 1_500, heartbeatMs: 500, drainMs: 1_000 },
);
await registration.ready;

process.once('SIGTERM', async () => {
  await registration.drain(); // deregistered first, then 1 s of serving while watchers catch up
  server.close(); // answers in flight finish; idle keep-alive sockets close
  await registry.close();
});
console.log(`ready ${port}`);
