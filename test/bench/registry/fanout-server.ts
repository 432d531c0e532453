/**
 * The server side of watcher-fanout-bench.ts, in its own process so that its RSS is the
 * registry server's alone. Registers `instances` instances of `big`, then reports its port and
 * answers `rss` requests with its resident set size, sampled every 10 ms (the peak since the
 * last request).
 */
import { createRegistryServer } from '@switchyard/registry';

const instances = Number(process.argv[2] ?? 5_000);
const server = await createRegistryServer({ port: 0 });
for (let i = 0; i < instances; i++) {
  await server.registry.register({
    id: `big-${i}`,
    service: 'big',
    host: `10.0.${(i >> 8) & 255}.${i & 255}`,
    port: 8080,
    metadata: { zone: `zone-${i % 3}`, version: '1.2.3' },
  });
}
let peak = process.memoryUsage.rss();
setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 10).unref();
process.on('message', (message: string) => {
  if (message === 'rss') {
    process.send?.({ rss: process.memoryUsage.rss(), peak });
    peak = process.memoryUsage.rss();
  } else if (message === 'close') {
    void server.close().then(() => process.exit(0));
  }
});
process.send?.({ port: server.port });
