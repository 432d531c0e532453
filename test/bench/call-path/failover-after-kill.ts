/**
 * How fast the executor fails over when an instance dies: three backends in their own
 * processes, GETs through `createExecutor` (defaults) over one undici Pool per backend, one
 * backend killed with SIGKILL at 20 % of the run. Prints the errors, p99 and slowest request
 * after the kill, against the same run's healthy part.
 *
 *   npx -y pnpm@10.34.8 bench failover-after-kill
 *   node --expose-gc .bench-dist/call-path/failover-after-kill.js [requests=30000] [inflight=64]
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { LoadStats, type ServiceInstance } from '@switchyard/core';
import { createExecutor, type InstanceSource } from '@switchyard/resilience';
import { Pool } from 'undici';
import { pinned, siblingScript } from '../harness/children.ts';

const total = Number(process.argv[2] ?? 30_000);
const inflight = Number(process.argv[3] ?? 64);

async function startBackend(id: string): Promise<{ instance: ServiceInstance; child: ChildProcess }> {
  // The bundled bench-server.js under `pnpm bench`, the .ts under tsx when run from source.
  const { command, args } = siblingScript(import.meta.url, 'bench-server');
  const child = spawnPinned(command, [...args, id], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(/ready (\d+)/.exec(line.toString())?.[1]);
  return { instance: { id, service: 'bench', host: '127.0.0.1', port }, child };
}

const backends = await Promise.all(['k1', 'k2', 'k3'].map(startBackend));
const pools = new Map(backends.map((b) => [b.instance.id, new Pool(`http://127.0.0.1:${b.instance.port}`)]));
let next = 0;
const source: InstanceSource = {
  load: new LoadStats(),
  pick(excluded) {
    for (let i = 0; i < backends.length; i++) {
      const instance = backends[(next + i) % backends.length]!.instance;
      if (!excluded(instance)) {
        next = (next + i + 1) % backends.length;
        return instance;
      }
    }
    return undefined;
  },
};
const executor = createExecutor({ service: 'bench' });
// Time spent in backoff is the part of a failover this executor decides; on a loaded machine
// it is also the part that wall-clock latency cannot show reliably.
let backedOff = 0;
let longestBackoffMs = 0;
executor.events.on('retry', ({ delayMs }) => {
  if (delayMs > 0) backedOff++;
  longestBackoffMs = Math.max(longestBackoffMs, delayMs);
});
const send = () =>
  executor.execute(
    source,
    async (instance, ctx) => {
      const response = await pools.get(instance.id)!.request({
        path: '/',
        method: 'GET',
        signal: ctx.abortTarget as never,
      });
      return ((await response.body.json()) as { from: string }).from;
    },
    { idempotent: true },
  );

const latencies = new Float64Array(total);
let started = 0;
let done = 0;
let errors = 0;
let killedAt = -1;
const worker = async () => {
  while (started < total) {
    const i = started++;
    const begin = performance.now();
    try {
      await send();
    } catch {
      errors++;
    }
    latencies[i] = performance.now() - begin;
    if (++done === Math.floor(total * 0.2) && killedAt < 0) {
      killedAt = started;
      backends[1]!.child.kill('SIGKILL');
    }
  }
};
await Promise.all(Array.from({ length: inflight }, worker));

const summary = (part: Float64Array) => {
  const sorted = Float64Array.from(part).sort();
  return {
    p50: sorted[Math.floor(sorted.length * 0.5)]!.toFixed(2),
    p99: sorted[Math.floor(sorted.length * 0.99)]!.toFixed(2),
    max: sorted[sorted.length - 1]!.toFixed(2),
  };
};
const before = summary(latencies.subarray(0, killedAt - inflight));
const after = summary(latencies.subarray(killedAt - inflight, Math.min(total, killedAt + 2_000)));
const stats = executor.stats();
console.log(
  `failover after a kill: ${total} GETs, ${inflight} in flight, k2 killed after ${killedAt} started; Node ${process.version}`,
);
console.table({
  'healthy part (ms)': before,
  'the 2,000 requests around the kill (ms)': after,
});
console.log(
  `errors: ${errors}; retries: ${stats.retries}, of which waited in backoff: ${backedOff} ` +
    `(longest ${longestBackoffMs} ms); budget exhausted: ${stats.budgetExhausted}`,
);

executor.close();
await Promise.all([...pools.values()].map((p) => p.close()));
for (const b of backends)
  if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGKILL');

/** `spawn` on the children's cores when the bench runs pinned (see harness/children.ts). */
function spawnPinned(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const run = pinned(command, args);
  return spawn(run.command, run.args, options);
}
