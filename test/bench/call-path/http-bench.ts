/**
 * The call path over real sockets: raw undici Pool vs undici BalancedPool vs
 * client.request, then the fault scenes (one backend killed, one backend slow).
 * Backends run in their own processes on loopback.
 *
 *   npx tsx test/bench/call-path/http-bench.ts [requests=50000] [inflight=64]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Balancer, leastConnections, peakEwma, roundRobin } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import type { ServiceInstance } from '@switchyard/core';
import { StaticRegistry } from '@switchyard/registry';
import { BalancedPool, Pool } from 'undici';

interface Backend {
  readonly id: string;
  readonly port: number;
  readonly origin: string;
  readonly child: ChildProcess;
}

async function startBackend(id: string, delayMs = 0): Promise<Backend> {
  const script = fileURLToPath(new URL('./bench-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, id, String(delayMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(/ready (\d+)/.exec(line.toString())?.[1]);
  return { id, port, origin: `http://127.0.0.1:${port}`, child };
}

async function stopAll(backends: readonly Backend[]): Promise<void> {
  await Promise.all(
    backends.map(async (b) => {
      if (b.child.exitCode !== null || b.child.signalCode !== null) return;
      b.child.kill('SIGKILL');
      await once(b.child, 'exit');
    }),
  );
}

interface RunResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly share: Map<string, number>;
}

/** Sends `total` requests with `inflight` in flight; `send` returns the id that answered. */
async function drive(
  total: number,
  inflight: number,
  send: () => Promise<string>,
  onProgress?: (done: number) => void,
): Promise<RunResult> {
  const latencies = new Float64Array(total);
  const share = new Map<string, number>();
  let started = 0;
  let done = 0;
  let errors = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < total) {
      const i = started++;
      const begin = performance.now();
      try {
        const from = await send();
        share.set(from, (share.get(from) ?? 0) + 1);
      } catch {
        errors++;
      }
      latencies[i] = performance.now() - begin;
      onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort();
  return {
    rps: total / seconds,
    p50: latencies[Math.floor(total * 0.5)]!,
    p99: latencies[Math.floor(total * 0.99)]!,
    errors,
    share,
  };
}

async function readFrom(body: { json(): Promise<unknown> }): Promise<string> {
  return ((await body.json()) as { from: string }).from;
}

function instancesOf(backends: readonly Backend[]): ServiceInstance[] {
  return backends.map((b) => ({ id: b.id, service: 'bench', host: '127.0.0.1', port: b.port }));
}

function clientOver(backends: readonly Backend[], balancer: Balancer): ServiceDiscoveryClient {
  return new ServiceDiscoveryClient({
    registry: new StaticRegistry({ bench: instancesOf(backends) }),
    balancer,
  });
}

export async function main(total = 50_000, inflight = 64): Promise<void> {
  const rows: string[][] = [];
  const row = (scene: string, name: string, r: RunResult, base?: RunResult, extra = '') =>
    rows.push([
      scene,
      name,
      r.rps.toFixed(0),
      base ? `${(r.rps / base.rps).toFixed(2)}×` : '1.00×',
      r.p50.toFixed(2),
      r.p99.toFixed(2),
      base ? `${(r.p99 / base.p99).toFixed(2)}×` : '1.00×',
      String(r.errors),
      extra,
    ]);
  const warm = Math.min(5_000, total);

  // 1. healthy: raw Pool (one origin), BalancedPool over 3, client.request over 3
  let backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startBackend(id)));
  const pool = new Pool(backends[0]!.origin);
  const sendPool = async () => readFrom((await pool.request({ path: '/', method: 'GET' })).body);
  await drive(warm, inflight, sendPool);
  const raw = await drive(total, inflight, sendPool);
  row('healthy', 'undici Pool (1 origin)', raw);
  await pool.close();

  // The least a balancer over three can cost: three Pools and a counter, nothing else.
  const pools = backends.map((b) => new Pool(b.origin));
  let turn = 0;
  const sendPools = async () => {
    turn = turn === 2 ? 0 : turn + 1;
    return readFrom((await pools[turn]!.request({ path: '/', method: 'GET' })).body);
  };
  await drive(warm, inflight, sendPools);
  const rawThree = await drive(total, inflight, sendPools);
  row('healthy', 'undici Pool ×3, round robin by hand', rawThree, raw);
  await Promise.all(pools.map((p) => p.close()));

  let balanced = new BalancedPool(backends.map((b) => b.origin));
  const sendBalanced = async () => readFrom((await balanced.request({ path: '/', method: 'GET' })).body);
  await drive(warm, inflight, sendBalanced);
  row('healthy', 'undici BalancedPool (3)', await drive(total, inflight, sendBalanced), raw);
  await balanced.close();

  let client = clientOver(backends, roundRobin());
  const sendClient = async () => readFrom((await client.request('bench', { path: '/' })).body);
  await drive(warm, inflight, sendClient);
  const healthy = await drive(total, inflight, sendClient);
  row(
    'healthy',
    'client.request (3, defaults)',
    healthy,
    raw,
    `${(healthy.rps / rawThree.rps).toFixed(2)}× of Pool ×3`,
  );
  await client.close();
  await stopAll(backends);

  // 2. one of three killed at 20 % of the run
  const killScene = async (
    name: string,
    make: (bs: Backend[]) => { send: () => Promise<string>; close: () => Promise<void>; note?: () => string },
  ) => {
    const bs = await Promise.all(['k1', 'k2', 'k3'].map((id) => startBackend(id)));
    const target = make(bs);
    await drive(warm, inflight, target.send);
    let killedAt = -1;
    const afterKill = new Map<string, number>();
    const result = await drive(
      total,
      inflight,
      async () => {
        const from = await target.send();
        if (killedAt >= 0) afterKill.set(from, (afterKill.get(from) ?? 0) + 1);
        return from;
      },
      (done) => {
        if (done === Math.floor(total * 0.2) && killedAt < 0) {
          killedAt = done;
          bs[1]!.child.kill('SIGKILL');
        }
      },
    );
    const toDead = afterKill.get('k2') ?? 0;
    const note = target.note ? `; ${target.note()}` : '';
    row(
      'kill 1 of 3 at 20%',
      name,
      result,
      raw,
      `answers from the dead one after the kill: ${toDead}${note}`,
    );
    await target.close();
    await stopAll(bs);
  };
  await killScene('undici BalancedPool (3)', (bs) => {
    const bp = new BalancedPool(bs.map((b) => b.origin));
    return {
      send: async () => readFrom((await bp.request({ path: '/', method: 'GET' })).body),
      close: () => bp.close(),
    };
  });
  await killScene('client.request (3, defaults)', (bs) => {
    const c = clientOver(bs, roundRobin());
    // Attempts started on the dead instance once outlier detection ejected it.
    const started = () => {
      const k2 = c.stats().bench?.instances.k2;
      return k2 ? k2.completed + k2.inflight : 0;
    };
    let atEjection: number | undefined;
    c.on('ejected', ({ instanceId }) => {
      if (instanceId === 'k2') atEjection = started();
    });
    const note = () => {
      const now = started();
      return atEjection === undefined
        ? 'never ejected'
        : `attempts started on it after its ejection: ${now - atEjection}`;
    };
    return {
      send: async () => readFrom((await c.request('bench', { path: '/' })).body),
      close: () => c.close(),
      note,
    };
  });

  // 3. one of three 20 ms slow
  backends = [await startBackend('s1'), await startBackend('s2', 20), await startBackend('s3')];
  const slowTotal = Math.max(10_000, Math.floor(total / 2));
  balanced = new BalancedPool(backends.map((b) => b.origin));
  const sendSlowBalanced = async () => {
    const res = await balanced.request({ path: '/', method: 'GET' });
    return readFrom(res.body);
  };
  await drive(warm, inflight, sendSlowBalanced);
  const slowBalanced = await drive(slowTotal, inflight, sendSlowBalanced);
  row('1 of 3 slow (20 ms)', 'undici BalancedPool (3)', slowBalanced, healthy, shareOf(slowBalanced, 's2'));
  await balanced.close();
  for (const [name, make] of [
    ['client roundRobin', roundRobin],
    ['client leastConnections', leastConnections],
    ['client peakEwma', peakEwma],
  ] as const) {
    client = clientOver(backends, make());
    const send = async () => readFrom((await client.request('bench', { path: '/' })).body);
    await drive(warm, inflight, send);
    const r = await drive(slowTotal, inflight, send);
    row('1 of 3 slow (20 ms)', name, r, healthy, shareOf(r, 's2'));
    await client.close();
  }
  await stopAll(backends);

  printTable(
    ['scene', 'who', 'req/s', 'vs base', 'p50 ms', 'p99 ms', 'p99 vs base', 'errors', 'notes'],
    rows,
    `${total} GETs, ${inflight} in flight, backends in separate processes on 127.0.0.1. ` +
      'Base: raw undici Pool for the healthy and kill scenes; the healthy client run for the slow scene.',
  );
}

function shareOf(r: RunResult, id: string): string {
  const all = [...r.share.values()].reduce((a, b) => a + b, 0);
  return `slow instance's share: ${((100 * (r.share.get(id) ?? 0)) / Math.max(all, 1)).toFixed(1)}%`;
}

function printTable(header: string[], rows: string[][], caption: string): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n${caption}\n`);
  console.log(line(header));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of rows) console.log(line(r));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [total, inflight] = process.argv.slice(2).map(Number);
  await main(total || 50_000, inflight || 64);
}
