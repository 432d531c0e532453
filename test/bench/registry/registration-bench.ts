/**
 * Registration rate into a large service: how many registrations per second the embedded
 * registry server takes once a service already holds N instances (over HTTP, one keep-alive
 * connection, sequential), and the same through `InMemoryRegistry.register` in process.
 *
 *   npx -y pnpm@10.34.8 bench registration-bench
 *
 * Bounded: at most 30,000 pre-registered instances and 2,000 timed registrations per row.
 * Wall-clock figures on a shared 2-core machine: compare orders of magnitude, not digits.
 */
import { pathToFileURL } from 'node:url';
import type { ServiceInstance } from '@switchyard/core';
import { createRegistryServer, InMemoryRegistry } from '@switchyard/registry';
import { Pool } from 'undici';

const instance = (i: number): ServiceInstance => ({
  id: `bench-${i}`,
  service: 'bench',
  host: '127.0.0.1',
  port: 1024 + (i % 60_000),
});

async function overHttp(existing: number, timed: number): Promise<number> {
  const store = new InMemoryRegistry();
  for (let i = 0; i < existing; i++) await store.register(instance(i), { ttlMs: 600_000 });
  const server = await createRegistryServer({ registry: store });
  const pool = new Pool(server.url, { connections: 1 });
  try {
    const start = performance.now();
    for (let i = existing; i < existing + timed; i++) {
      const answer = await pool.request({
        method: 'POST',
        path: '/register',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...instance(i), ttlMs: 600_000 }),
      });
      await answer.body.dump();
      if (answer.statusCode !== 201) throw new Error(`register answered ${answer.statusCode}`);
    }
    return timed / ((performance.now() - start) / 1000);
  } finally {
    await pool.close();
    await server.close();
    await store.close();
  }
}

async function inProcess(existing: number, timed: number): Promise<number> {
  const store = new InMemoryRegistry();
  for (let i = 0; i < existing; i++) await store.register(instance(i), { ttlMs: 600_000 });
  const start = performance.now();
  for (let i = existing; i < existing + timed; i++) await store.register(instance(i), { ttlMs: 600_000 });
  const rate = timed / ((performance.now() - start) / 1000);
  await store.close();
  return rate;
}

export async function main(): Promise<void> {
  const rows: string[][] = [];
  // Warm up the JIT and the HTTP stack so the first row is not a start-up figure.
  await overHttp(0, 500);
  await inProcess(0, 500);
  for (const existing of [0, 5_000, 30_000]) {
    const http = await overHttp(existing, 2_000);
    const local = await inProcess(existing, 2_000);
    rows.push([existing.toLocaleString('en'), `${Math.round(http)}/s`, `${Math.round(local)}/s`]);
  }
  console.log('\nRegistrations into one service already holding N instances (2,000 timed each)');
  console.table(
    rows.map(([n, http, local]) => ({
      'N instances': n,
      'HTTP POST /register': http,
      'InMemoryRegistry.register': local,
    })),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
