/**
 * Switchyard in one minute: an embedded registry, three real HTTP backends that register
 * themselves, and a client that spreads traffic over them and keeps every request alive when
 * one of them crashes.
 *
 *   npx -y pnpm@10.34.8 install && npx -y pnpm@10.34.8 demo
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { createDashboard } from '@switchyard/dashboard';
import { createRegistryServer, HttpRegistry } from '@switchyard/registry';

/** The backend processes still running: they must not outlive this one. */
const children = new Set<ChildProcess>();

/** Starts one backend process and waits until it has registered. */
async function startBackend(id: string, registryUrl: string): Promise<{ id: string; process: ChildProcess }> {
  const script = fileURLToPath(new URL('./backend.ts', import.meta.url));
  // The IPC channel is the backend's lifeline: it closes when this process dies, however it dies.
  const child = spawn(process.execPath, ['--import', 'tsx', script, id, registryUrl], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.channel?.unref();
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  if (!line.toString().startsWith('ready')) throw new Error(`${id} did not start: ${line}`);
  return { id, process: child };
}

// SIGTERM or Ctrl-C: stop the backends (they deregister) before going, then end as the signal would.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    const exits = [...children].map((child) => once(child, 'exit'));
    for (const child of children) child.kill('SIGTERM');
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    process.exit(128 + constants.signals[signal]);
  });
}
// Any other way out (an error, process.exit): the backends still get their SIGTERM.
process.on('exit', () => {
  for (const child of children) child.kill('SIGTERM');
});

const registry = await createRegistryServer({ port: 0 });
console.log(`registry listening on ${registry.url}`);

const backends = await Promise.all(
  ['hello-1', 'hello-2', 'hello-3'].map((id) => startBackend(id, registry.url)),
);
console.log(
  `started ${backends.map((b) => `${b.id} (pid ${b.process.pid})`).join(', ')} as processes; each registered with a 1.5 s TTL`,
);

const client = new ServiceDiscoveryClient({ registry: new HttpRegistry({ url: registry.url }) });
client.on('instancesChanged', ({ instances }) =>
  console.log(`  · view of "hello" now: ${instances.map((i) => i.id).join(', ') || '(empty)'}`),
);
client.on('ejected', ({ instanceId, reason }) => console.log(`  · ejected ${instanceId}: ${reason}`));

// A live page of what the client sees: open it to watch the kill below happen.
const dashboard = createDashboard(client);
console.log(`dashboard: ${await dashboard.listen()} (live: instances, share of traffic, ejections)`);
// At a terminal, a few seconds to open it before the traffic starts (and to look after it ends).
const watchMs = process.stdout.isTTY ? 5_000 : 0;
await new Promise((resolve) => setTimeout(resolve, watchMs));

/** Sends `count` GETs, `concurrency` at a time; returns answers per instance and failures. */
async function traffic(count: number, concurrency: number, during?: (sent: number) => Promise<void> | void) {
  const perInstance = new Map<string, number>();
  let failed = 0;
  let sent = 0;
  const worker = async () => {
    while (sent < count) {
      const n = sent++;
      await during?.(n);
      try {
        const res = await client.request('hello', { method: 'GET', path: `/greet/${n}` });
        const { from } = (await res.body.json()) as { from: string };
        perInstance.set(from, (perInstance.get(from) ?? 0) + 1);
      } catch (error) {
        failed++;
        console.log(`  ✗ request ${n} failed: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { perInstance, failed };
}

function report(title: string, result: { perInstance: Map<string, number>; failed: number }) {
  console.log(`\n${title}`);
  const total = [...result.perInstance.values()].reduce((a, b) => a + b, 0);
  for (const [id, n] of [...result.perInstance].sort()) {
    console.log(`  ${id.padEnd(8)} ${String(n).padStart(4)}  ${'█'.repeat(Math.round((40 * n) / total))}`);
  }
  console.log(`  failed   ${String(result.failed).padStart(4)}`);
}

report('300 requests, round robin over three instances:', await traffic(300, 1));

let crashed = false;
const afterCrash = await traffic(600, 8, async (n) => {
  if (n === 150 && !crashed) {
    crashed = true;
    console.log('\n  ⚡ kill -9 hello-2 (no deregistration: the registry only learns when its TTL runs out)');
    const victim = backends[1]!.process;
    victim.kill('SIGKILL');
    await once(victim, 'exit');
  }
});
report('600 more requests; hello-2 crashed after the 150th:', afterCrash);

// Give the registry time to expire hello-2's registration and the client's watch to see it.
await new Promise((resolve) => setTimeout(resolve, 2_500));
report('300 requests once the registry has dropped hello-2:', await traffic(300, 4));

await new Promise((resolve) => setTimeout(resolve, watchMs));
await dashboard.close();
await client.close();
for (const { process: child } of [backends[0]!, backends[2]!]) {
  child.kill('SIGTERM');
  await once(child, 'exit');
}
await registry.close();
const failures = afterCrash.failed;
console.log(failures === 0 ? '\nno request was lost. bye.' : `\n${failures} requests failed`);
process.exitCode = failures === 0 ? 0 : 1;
