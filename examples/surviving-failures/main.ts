/**
 * What Switchyard does when instances misbehave: one dies, one turns slow, one answers 503s.
 * Real loopback backends with fault injection; every request is counted.
 *
 *   npx -y pnpm@10.34.8 exec tsx examples/surviving-failures/main.ts
 */
import { peakEwma } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { StaticRegistry } from '@switchyard/registry';
import { startBackends } from '@switchyard/testing';

const backends = await startBackends(4, { service: 'orders' });
const client = new ServiceDiscoveryClient({
  registry: new StaticRegistry({ orders: backends.instances() }),
  balancer: peakEwma(),
  retry: { maxAttempts: 3, backoff: { initialMs: 5, maxMs: 100, jitter: 'full' } },
  timeoutMs: 500,
  circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 2_000 },
  outlierDetection: { consecutiveFailures: 5, baseEjectionMs: 5_000, maxEjectionPercent: 50 },
});
for (const event of ['ejected', 'restored', 'breakerOpen', 'breakerClose'] as const) {
  client.on(event, (e) => console.log(`  · ${event} ${'instanceId' in e ? e.instanceId : ''}`));
}

async function burst(label: string, count: number): Promise<void> {
  const before = backends.counts();
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next++ < count) {
      await client
        .request('orders', { method: 'GET', path: '/orders/1' })
        .then((res) => res.body.dump())
        .catch(() => failed++);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const after = backends.counts();
  const spread = Object.keys(after)
    .map((id) => `${id}=${after[id]! - (before[id] ?? 0)}`)
    .join(' ');
  console.log(`${label.padEnd(34)} ${count} calls, ${failed} failed   [${spread}]`);
}

await burst('all healthy', 800);
await backends.byId('orders-1')!.kill();
await burst('orders-1 killed', 800);
backends.byId('orders-2')!.slow(50);
await burst('orders-2 50 ms slow (peak-EWMA)', 800);
backends.byId('orders-3')!.failWith(503, 20);
await burst('orders-3 answers twenty 503s', 800);

console.log('\nper-service counters:', JSON.stringify(client.stats().orders, null, 0));
await client.close();
await backends.close();
