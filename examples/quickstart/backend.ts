/**
 * One instance of the "hello" service, as its own process: serves HTTP, registers itself with
 * the registry (TTL 1.5 s, heartbeat every 0.5 s) and drains on SIGTERM or SIGINT: deregisters,
 * answers /health with 503 and keeps serving for 1 s while callers catch up, then closes. It also
 * stops when its parent goes away (the IPC channel it was started with closes).
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

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  // However the steps below go, this process is gone within 5 s.
  setTimeout(() => process.exit(1), 5_000).unref();
  // The parent is gone: nobody to drain for. Otherwise deregister first, then 1 s of serving.
  if (process.connected) await registration.drain();
  else await registration.close();
  server.close(); // answers in flight finish
  server.closeAllConnections();
  await registry.close();
  if (process.connected) process.disconnect();
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// Watchdog: the parent's IPC channel closes when the parent dies, even by SIGKILL, which it
// cannot forward. Without this the backend would run on, heartbeating a registry that is gone.
process.once('disconnect', stop);
console.log(`ready ${port}`);
