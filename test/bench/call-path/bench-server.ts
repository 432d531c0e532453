/**
 * A bench backend in its own process: answers every request with a small JSON body, after
 * `delayMs` when given. Prints `ready <port>` once listening.
 *
 *   node --import tsx bench-server.ts <id> [delayMs]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const id = process.argv[2] ?? 'backend';
const delayMs = Number(process.argv[3] ?? 0);
const body = JSON.stringify({ from: id });

const server = createServer((req, res) => {
  req.resume();
  const answer = () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (delayMs > 0) setTimeout(answer, delayMs);
  else answer();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`ready ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
