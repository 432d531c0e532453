/**
 * CPU per request of each layer of `client.request` against a raw undici Pool, in the same run:
 * N GETs with 64 in flight against one keep-alive `node:http` server in a child process, so the
 * process CPU time (`process.cpuUsage()`, user + system) is the client's alone. The variants add
 * one layer at a time:
 *
 * - undici Pool: `pool.request` and `body.dump()`, nothing else;
 * - `callService` with a bare `pool.request` inside: discovery, pick, executor (retry, breaker,
 *   budget, the default 15 s attempt timeout), no HTTP layer of Switchyard's;
 * - `client.request` (defaults: 15 s attempt timeout);
 * - `client.request` with `timeoutMs: 1000` set;
 * - `client.request` with a long-lived caller's signal, beside a Pool given one too: an abortable
 *   request costs undici (and Node's AbortSignal) work of its own, which the bare Pool skips.
 *
 * Rounds are interleaved (in a Williams design: see `roundOrder`); each figure is the median of
 * the rounds, with its ratio to the Pool measured in the same round. On a busy machine wall-clock
 * throughput is noise; CPU time per request is what resolves 10 %.
 *
 *   npx -y pnpm@10.34.8 bench request-cpu
 *   node --expose-gc .bench-dist/call-path/request-cpu.js [requests per run=5000] [rounds=30]
 */
import { setMaxListeners } from 'node:events';
import { pathToFileURL } from 'node:url';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { StaticRegistry } from '@switchyard/registry';
import { Pool } from 'undici';
import { siblingScript, spawnTracked, stopTracked, waitForLine } from '../harness/children.ts';
import { ownCpuUs } from '../harness/cpu.ts';
import { BenchReport, fmt, markdownTable } from '../harness/report.ts';
import { sized } from '../harness/smoke.ts';
import { interleavedRounds, median, middleHalf } from '../harness/stats.ts';

const INFLIGHT = 64;
/**
 * Short rounds, many of them: on a shared VM the machine's speed drifts within seconds, and a
 * same-round ratio is only as good as how close in time its two figures were taken.
 */
const WARM_UP_ROUNDS = sized(8, 0);

interface Variant {
  readonly name: string;
  readonly send: () => Promise<unknown>;
}

interface Run {
  readonly cpuUs: number;
  readonly rps: number;
}

/** Sends `total` requests, `INFLIGHT` at a time: the process's CPU µs per request, and req/s. */
async function drive(total: number, send: () => Promise<unknown>): Promise<Run> {
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      await send();
    }
  };
  const cpuStart = ownCpuUs();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const seconds = (performance.now() - t0) / 1_000;
  return { cpuUs: (ownCpuUs() - cpuStart) / total, rps: total / seconds };
}

const POOL = 'undici Pool';
const POOL_SIGNAL = 'undici Pool + caller signal';
const OURS_SIGNAL = 'client.request + caller signal';

export async function main(total = 5_000, rounds = 30): Promise<void> {
  const report = new BenchReport('request-cpu');
  const server = siblingScript(import.meta.url, 'bench-server');
  const backend = spawnTracked(server.command, [...server.args, 'cpu-1']);
  const port = Number((await waitForLine(backend, /ready (\d+)/))[1]);
  const origin = `http://127.0.0.1:${port}`;
  const registry = new StaticRegistry({
    bench: [{ id: 'cpu-1', service: 'bench', host: '127.0.0.1', port }],
  });
  const pool = new Pool(origin);
  const poolInside = new Pool(origin);
  // Every variant has its own pool or client, as in http-bench: one variant's requests must not
  // warm (or cool) another's connections.
  const poolSignal = new Pool(origin);
  const client = new ServiceDiscoveryClient({ registry });
  const clientTimeout = new ServiceDiscoveryClient({ registry, timeoutMs: 1_000 });
  const clientSignal = new ServiceDiscoveryClient({ registry });
  const caller = new AbortController();
  setMaxListeners(0, caller.signal); // one long-lived caller signal shared by every request in flight
  const poolCaller = new AbortController();
  setMaxListeners(0, poolCaller.signal);
  const variants: Variant[] = [
    {
      name: POOL,
      send: async () => (await pool.request({ method: 'GET', path: '/' })).body.dump(),
    },
    {
      name: 'callService + bare pool.request',
      send: async () =>
        (
          await client.callService('bench', () => poolInside.request({ method: 'GET', path: '/' }))
        ).body.dump(),
    },
    {
      name: 'client.request (default 15 s attempt timeout)',
      send: async () => (await client.request('bench', { path: '/' })).body.dump(),
    },
    {
      name: 'client.request (timeoutMs: 1000)',
      send: async () => (await clientTimeout.request('bench', { path: '/' })).body.dump(),
    },
    {
      name: OURS_SIGNAL,
      send: async () =>
        (await clientSignal.request('bench', { path: '/', signal: caller.signal })).body.dump(),
    },
    {
      name: POOL_SIGNAL,
      send: async () =>
        (await poolSignal.request({ method: 'GET', path: '/', signal: poolCaller.signal })).body.dump(),
    },
  ];
  console.log(
    `${total.toLocaleString('en-US')} GETs per run, ${INFLIGHT} in flight, ${rounds} interleaved rounds after ${WARM_UP_ROUNDS} warm-up rounds; ` +
      'one keep-alive server in a child process; CPU is this process’s (user + system).',
  );
  let results: Map<string, Run[]>;
  try {
    // The first rounds are thrown away: the process is still warming up in them.
    results = await interleavedRounds(
      rounds,
      variants.map((variant) => ({ name: variant.name, run: () => drive(total, variant.send) })),
      WARM_UP_ROUNDS,
    );
  } finally {
    await Promise.all([
      pool.close(),
      poolInside.close(),
      poolSignal.close(),
      client.close(),
      clientTimeout.close(),
      clientSignal.close(),
    ]);
    await stopTracked(backend);
  }
  const cpu = (name: string) => results.get(name)!.map((r) => r.cpuUs);
  console.log('\nMedians per variant\n');
  console.log(
    markdownTable(
      ['variant', 'CPU µs/request', 'middle half of the rounds (p25–p75)', 'req/s'],
      variants.map(({ name }) => [
        name,
        fmt(median(cpu(name))),
        middleHalf(cpu(name))
          .map((value) => fmt(value))
          .join('–'),
        fmt(median(results.get(name)!.map((r) => r.rps))),
      ]),
    ),
  );
  for (const { name } of variants.filter((v) => v.name !== POOL && v.name !== POOL_SIGNAL)) {
    report.add({
      figure: 'CPU per request, 64 in flight',
      unit: 'µs',
      ours: name,
      oursRounds: cpu(name),
      peer: POOL,
      peerRounds: cpu(POOL),
    });
  }
  // Like with like: both given a caller's signal.
  report.add({
    figure: 'CPU per request, 64 in flight, both with a caller signal',
    unit: 'µs',
    ours: OURS_SIGNAL,
    oursRounds: cpu(OURS_SIGNAL),
    peer: POOL_SIGNAL,
    peerRounds: cpu(POOL_SIGNAL),
  });
  report.print('Same-round ratios to the undici Pool (lower is better)');
  report.finish();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [total, rounds] = process.argv.slice(2).map(Number);
  await main(total && total > 0 ? total : sized(5_000, 300), Math.max(sized(3, 1), rounds || sized(30, 1)));
}
