/**
 * An oversized registry answer: a server streams 256 MiB of junk (chunked, no Content-Length)
 * as the answer to a resolve. Reports the client's peak RSS and how long resolve took to fail.
 *
 *   npx -y pnpm@10.34.8 bench oversized-answer
 *   node --expose-gc .bench-dist/registry/oversized-answer-bench.js [MiB=256]
 *
 * Bounded: the server stops after the given size. Wall-clock figures on a shared 2-core
 * machine: compare orders of magnitude.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { HttpRegistry } from '@switchyard/registry';

const MB = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;

export async function main(mib = 256): Promise<void> {
  const total = mib * 2 ** 20;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-registry-index': '1' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let written = 0;
    const pump = () => {
      while (written < total && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return;
      }
      if (!res.destroyed) res.end();
    };
    res.on('drain', pump);
    res.on('error', () => {});
    pump();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const registry = new HttpRegistry({ url, timeoutMs: 120_000 });
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const start = performance.now();
  const outcome = await registry.resolve('users').then(
    () => 'resolved (!)',
    (error: Error) => `${error.name}: ${error.message.slice(0, 70)}`,
  );
  const elapsed = performance.now() - start;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  console.log(`\nOversized answer: ${mib} MiB of junk, chunked`);
  console.table([
    { 'RSS before': MB(before), 'RSS peak': MB(peak), 'failed after': `${Math.round(elapsed)} ms`, outcome },
  ]);
  await registry.close();
  server.closeAllConnections();
  server.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(Number(process.argv[2] ?? 256));
}
