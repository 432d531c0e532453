/**
 * The call path over real sockets, every variant against the same three backend processes on
 * 127.0.0.1: raw undici Pools, BalancedPool (bare and with undici's retry interceptor),
 * client.request (defaults, and with timeoutMs), and HAProxy and nginx as local proxies. Then the
 * fault scenes: one backend killed at 20 % of a run (errors, slowest request after the kill), one
 * backend 20 ms slow (each slow run paired with a healthy run of the same variant in the same
 * round, so the p99 ratio compares like with like). Every figure is the median of ROUNDS
 * interleaved rounds (the kill scene: at least KILL_ROUNDS) with the ratio to the peer measured
 * in the same round.
 *
 * CPU per request is this process's CPU time (process.cpuUsage) over a fixed request count, plus,
 * for the proxies, the proxy's CPU time from /proc/<pid>/stat: on two noisy cores wall-clock
 * throughput cannot resolve a 10 % difference, CPU time can. Backend CPU is left out: the
 * backends do the same work for every variant.
 *
 *   pnpm bench http                                  # built JS, as benchmarks run
 *   node .bench-dist/call-path/http-bench.js [requests=16000] [inflight=64] [rounds=3]
 *   HTTP_BENCH_SLOW=peakEwma node .bench-dist/call-path/http-bench.js   # only the slow scene,
 *                                              # only the variants whose name contains the text
 */
import type { ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { type Balancer, leastConnections, peakEwma, roundRobin } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import type { ServiceInstance } from '@switchyard/core';
import { StaticRegistry } from '@switchyard/registry';
import { BalancedPool, interceptors, Pool } from 'undici';
import {
  alternateCores,
  siblingScript,
  spawnTracked,
  stopTracked,
  waitForLine,
} from '../harness/children.ts';
import { ownCpuUs } from '../harness/cpu.ts';
import { BenchReport, fmt, markdownTable } from '../harness/report.ts';
import { sized } from '../harness/smoke.ts';
import { interleavedRounds, median, quantile, sameRoundRatio } from '../harness/stats.ts';
import { haproxy } from '../proxies/haproxy.ts';
import { available, type LocalProxy, type ProxyBalance, type ProxyKind } from '../proxies/local-proxy.ts';
import { nginx } from '../proxies/nginx.ts';

interface Backend {
  readonly id: string;
  readonly port: number;
  readonly origin: string;
  readonly child: ChildProcess;
}

async function startBackend(id: string, delayMs = 0): Promise<Backend> {
  const { command, args } = siblingScript(import.meta.url, 'bench-server');
  const child = spawnTracked(command, [...args, id, String(delayMs)]);
  const match = await waitForLine(child, /ready (\d+)/);
  const port = Number(match[1]);
  return { id, port, origin: `http://127.0.0.1:${port}`, child };
}

const startBackends = (ids: readonly string[], slow: Record<string, number> = {}) =>
  Promise.all(ids.map((id) => startBackend(id, slow[id] ?? 0)));
const stopBackends = (backends: readonly Backend[]) => Promise.all(backends.map((b) => stopTracked(b.child)));

/** What one variant sends through; `proxy` is set when the requests go through a proxy process. */
interface Target {
  send(): Promise<string>;
  close(): Promise<void>;
  readonly proxy?: LocalProxy;
}

interface Run {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** Client + proxy CPU µs per request. */
  readonly cpuUs: number;
  readonly clientCpuUs: number;
  readonly proxyCpuUs: number;
  /** Slowest request that ended after the kill (kill scene only), ms. */
  readonly worstAfterKillMs: number;
  /**
   * From SIGKILL to the killed backend's exit (kill scene only), ms: the kernel tears the
   * process down, and only then closes its sockets. No balancer learns of the death sooner.
   */
  readonly deathMs: number;
  /**
   * The slowest request after the backend's exit, counting only its time after the exit (or after
   * its own start, if later), ms: how long failing over took once there was something to notice.
   */
  readonly worstAfterDeathMs: number;
  /**
   * The slowest request after the same mark in a run of the same length with no kill, on the same
   * target just before (kill scene only), ms: the run's own tail, which the figure after a kill
   * includes.
   */
  readonly calmWorstMs: number;
  readonly share: Map<string, number>;
}

/**
 * Sends `total` requests with `inflight` in flight. When `killAt` is given, its victim (if any) is
 * killed once `fraction` of them are done, and the slowest request that ends after that mark is
 * reported, as well as when the victim exited and the slowest request after that.
 */
async function drive(
  total: number,
  inflight: number,
  target: Target,
  killAt?: { readonly fraction: number; readonly victim?: ChildProcess },
): Promise<Run> {
  const latencies = new Float64Array(total);
  const share = new Map<string, number>();
  let started = 0;
  let done = 0;
  let errors = 0;
  let killedAt = Number.POSITIVE_INFINITY;
  let worstAfterKill = 0;
  let diedAt = Number.POSITIVE_INFINITY;
  /** begin, end of each request that ended after the kill. */
  const afterKill: number[] = [];
  const killWhen = killAt ? Math.floor(total * killAt.fraction) : -1;
  const proxyStart = target.proxy?.cpuUs() ?? 0;
  const cpuStart = ownCpuUs();
  const t0 = performance.now();
  const worker = async () => {
    while (started < total) {
      const i = started++;
      const begin = performance.now();
      try {
        const from = await target.send();
        share.set(from, (share.get(from) ?? 0) + 1);
      } catch {
        errors++;
      }
      const end = performance.now();
      latencies[i] = end - begin;
      if (end > killedAt) {
        if (end - begin > worstAfterKill) worstAfterKill = end - begin;
        afterKill.push(begin, end);
      }
      if (++done === killWhen) {
        killedAt = performance.now();
        killAt!.victim?.once('exit', () => {
          diedAt = performance.now();
        });
        killAt!.victim?.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const clientCpuUs = (ownCpuUs() - cpuStart) / total;
  const proxyCpuUs = target.proxy ? (target.proxy.cpuUs() - proxyStart) / total : 0;
  latencies.sort();
  let worstAfterDeath = 0;
  for (let k = 0; k < afterKill.length; k += 2) {
    const end = afterKill[k + 1]!;
    if (end > diedAt) worstAfterDeath = Math.max(worstAfterDeath, end - Math.max(afterKill[k]!, diedAt));
  }
  return {
    rps: total / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    errors,
    cpuUs: clientCpuUs + proxyCpuUs,
    clientCpuUs,
    proxyCpuUs,
    worstAfterKillMs: worstAfterKill,
    deathMs: Number.isFinite(diedAt) ? diedAt - killedAt : 0,
    worstAfterDeathMs: worstAfterDeath,
    calmWorstMs: 0,
    share,
  };
}

async function readFrom(body: { json(): Promise<unknown> }): Promise<string> {
  return ((await body.json()) as { from: string }).from;
}

function instancesOf(backends: readonly Backend[]): ServiceInstance[] {
  return backends.map((b) => ({ id: b.id, service: 'bench', host: '127.0.0.1', port: b.port }));
}

// ---- the variants ------------------------------------------------------------------------

type MakeTarget = (backends: readonly Backend[]) => Promise<Target>;

/** The least a balancer over three can cost: three Pools and a counter, nothing else. */
const poolsByHand: MakeTarget = async (backends) => {
  const pools = backends.map((b) => new Pool(b.origin));
  let turn = 0;
  return {
    send: async () => {
      turn = turn === pools.length - 1 ? 0 : turn + 1;
      return readFrom((await pools[turn]!.request({ path: '/', method: 'GET' })).body);
    },
    close: async () => {
      await Promise.all(pools.map((p) => p.close()));
    },
  };
};

const balancedPool: MakeTarget = async (backends) => {
  const pool = new BalancedPool(backends.map((b) => b.origin));
  return {
    send: async () => readFrom((await pool.request({ path: '/', method: 'GET' })).body),
    close: () => pool.close(),
  };
};

/**
 * BalancedPool as a careful undici user runs it: undici's retry interceptor on top, so a GET
 * that fails on a dead origin is retried (through the pool, so on another origin). Three attempts
 * in all, like Switchyard's default; a 50 ms first backoff instead of undici's 500 ms.
 */
const RETRY_OPTIONS = { maxRetries: 2, minTimeout: 50, maxTimeout: 1_000, timeoutFactor: 2 } as const;
const balancedPoolRetry: MakeTarget = async (backends) => {
  const pool = new BalancedPool(backends.map((b) => b.origin));
  const dispatcher = pool.compose(interceptors.retry(RETRY_OPTIONS));
  return {
    send: async () => readFrom((await dispatcher.request({ path: '/', method: 'GET' })).body),
    close: () => pool.close(),
  };
};

const client =
  (balancer: () => Balancer, extra: { timeoutMs?: number } = {}): MakeTarget =>
  async (backends) => {
    const c = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ bench: instancesOf(backends) }),
      balancer: balancer(),
      ...extra,
    });
    return {
      send: async () => readFrom((await c.request('bench', { path: '/' })).body),
      close: () => c.close(),
    };
  };

const behind =
  (kind: ProxyKind, balance: ProxyBalance): MakeTarget =>
  async (backends) => {
    const proxy = await kind.start(backends, balance);
    const pool = new Pool(proxy.origin);
    return {
      proxy,
      send: async () => readFrom((await pool.request({ path: '/', method: 'GET' })).body),
      close: async () => {
        await pool.close();
        await proxy.stop();
      },
    };
  };

interface Variant {
  readonly name: string;
  readonly make: MakeTarget;
}

// ---- the scenes -------------------------------------------------------------------------

const POOLS = 'undici Pool ×3, round robin by hand';
const BALANCED = 'undici BalancedPool';
const BALANCED_RETRY = 'undici BalancedPool + retry interceptor';
const OURS = 'client.request (defaults)';
const OURS_TIMEOUT = 'client.request (timeoutMs: 1000)';

function proxyVariants(balance: ProxyBalance): Variant[] {
  const label = balance === 'roundRobin' ? 'round robin' : 'least connections';
  return [haproxy, nginx]
    .filter((kind) => available(kind))
    .map((kind) => ({ name: `${kind.name} (${label})`, make: behind(kind, balance) }));
}

type Results = Map<string, Run[]>;

function printRuns(caption: string, results: Results, extra?: (name: string, runs: Run[]) => string): void {
  const rows = [...results].map(([name, runs]) => {
    const m = (pick: (r: Run) => number) => fmt(median(runs.map(pick)));
    return [
      name,
      m((r) => r.rps),
      m((r) => r.p50),
      m((r) => r.p99),
      m((r) => r.clientCpuUs),
      m((r) => r.proxyCpuUs),
      m((r) => r.cpuUs),
      runs.length <= 5
        ? runs.map((r) => String(r.errors)).join(' / ')
        : `${runs.reduce((sum, r) => sum + r.errors, 0)} in ${runs.length} rounds`,
      extra?.(name, runs) ?? '',
    ];
  });
  console.log(`\n${caption}\n`);
  console.log(
    markdownTable(
      [
        'who (medians)',
        'req/s',
        'p50 ms',
        'p99 ms',
        'client CPU µs/req',
        'proxy CPU µs/req',
        'total CPU µs/req',
        'errors by round',
        '',
      ],
      rows,
    ),
  );
}

function compare(
  report: BenchReport,
  results: Results,
  ours: string,
  peers: readonly string[],
  metrics: readonly (readonly [string, string, (r: Run) => number])[],
): void {
  const oursRuns = results.get(ours);
  if (!oursRuns) return;
  for (const [figure, unit, pick] of metrics) {
    for (const peer of peers) {
      const peerRuns = results.get(peer);
      if (!peerRuns) continue;
      report.add({
        figure,
        unit,
        ours,
        oursRounds: oursRuns.map(pick),
        peer,
        peerRounds: peerRuns.map(pick),
      });
    }
  }
}

/**
 * Total CPU per request against each proxy's, with the client on one core or the other: the
 * same-round ratio over the even rounds and over the odd ones (see `alternateCores`). Where the
 * two differ, the cores ran at different speeds, and the median over all rounds weighs both.
 */
function printByLayout(results: Results, clients: readonly string[], proxies: readonly string[]): void {
  const cpu = (name: string, parity: number) =>
    (results.get(name) ?? []).filter((_, round) => round % 2 === parity).map((r) => r.cpuUs);
  const rows = clients.flatMap((who) =>
    proxies.map((proxy) => [
      `${who} ÷ ${proxy}`,
      fmt(sameRoundRatio(cpu(who, 0), cpu(proxy, 0))),
      fmt(sameRoundRatio(cpu(who, 1), cpu(proxy, 1))),
    ]),
  );
  console.log('\nHealthy: total CPU per request, same-round ratio by where the client ran\n');
  console.log(
    markdownTable(['ratio', 'client on core 0 (even rounds)', 'client on core 1 (odd rounds)'], rows),
  );
}

function shareOf(runs: readonly Run[], id: string): number {
  return median(
    runs.map((r) => {
      const all = [...r.share.values()].reduce((a, b) => a + b, 0);
      return (100 * (r.share.get(id) ?? 0)) / Math.max(all, 1);
    }),
  );
}

/**
 * `interleavedRounds` with the bench and its children on swapped cores every other round (see
 * `alternateCores`), and back in place at the end.
 */
async function roundsAcrossCores<R>(
  rounds: number,
  variants: readonly { readonly name: string; run(round: number): Promise<R> }[],
  warmUpRounds = 0,
): Promise<Map<string, R[]>> {
  try {
    return await interleavedRounds(rounds, variants, warmUpRounds, alternateCores);
  } finally {
    alternateCores(0);
  }
}

/** Rounds of the kill scene, at least: its slowest-request figure needs them (see there). */
const KILL_ROUNDS = sized(8, 1);

export async function main(
  total = 16_000,
  inflight = 64,
  rounds = 3,
  slowOnly = process.env.HTTP_BENCH_SLOW,
): Promise<void> {
  const report = new BenchReport('http-bench');
  const warm = Math.min(sized(2_000, 200), total);
  // The healthy scene's CPU ratios are the ones the machine's drift decides (on this shared VM its
  // speed changes within seconds, and a round reads +50 % now and then): every variant's target is
  // made once, and many short rounds interleave them, so the two figures of a same-round ratio are
  // taken seconds apart.
  const healthyRounds = Math.max(rounds, sized(24, 1));
  const healthyRoundRequests = Math.max(sized(1_000, 100), Math.floor(total / 4));
  const runVariant = async (make: MakeTarget, backends: readonly Backend[], n = total) => {
    const target = await make(backends);
    try {
      await drive(warm, inflight, target);
      return await drive(n, inflight, target);
    } finally {
      await target.close();
    }
  };
  console.log(
    `${total.toLocaleString('en-US')} GETs per run, ${inflight} in flight, ${rounds} interleaved rounds ` +
      `(the healthy scene: ${healthyRounds} rounds of ${healthyRoundRequests.toLocaleString('en-US')} GETs, ` +
      'after two thrown away); ' +
      'three backends in their own processes on 127.0.0.1, the same three for every variant.',
  );

  const alternates = alternateCores(0);
  console.log(
    alternates
      ? 'Rounds alternate the cores: the client on core 0 and backends and proxies on core 1 in even rounds, the other way in odd ones.'
      : 'The cores do not alternate (not pinned one core against one).',
  );
  const healthyBackends = await startBackends(['b1', 'b2', 'b3']);
  if (slowOnly === undefined) await healthyAndKillScenes();
  else console.log(`Only the slow scene, only the variants whose name contains "${slowOnly}".`);

  // 1. healthy
  async function healthyAndKillScenes(): Promise<void> {
    const healthyVariants: Variant[] = [
      { name: POOLS, make: poolsByHand },
      { name: BALANCED, make: balancedPool },
      { name: OURS, make: client(roundRobin) },
      { name: OURS_TIMEOUT, make: client(roundRobin, { timeoutMs: 1_000 }) },
      ...proxyVariants('roundRobin'),
    ];
    const targets: Target[] = [];
    let healthy: Results;
    try {
      for (const v of healthyVariants) targets.push(await v.make(healthyBackends));
      for (const target of targets) await drive(warm, inflight, target);
      healthy = await roundsAcrossCores(
        healthyRounds,
        healthyVariants.map((v, i) => ({
          name: v.name,
          run: () => drive(healthyRoundRequests, inflight, targets[i]!),
        })),
        sized(2, 0), // warm-up rounds, thrown away: the process is still warming up in them
      );
    } finally {
      await Promise.all(targets.map((target) => target.close()));
    }
    printRuns('Healthy: three backends', healthy);
    const proxiesRr = healthyVariants.slice(4).map((v) => v.name);
    let from = report.size;
    compare(
      report,
      healthy,
      OURS,
      [POOLS, BALANCED, ...proxiesRr],
      [
        ['healthy: CPU per request (client + proxy)', 'µs', (r) => r.cpuUs],
        ['healthy: throughput', 'req/s', (r) => r.rps],
        ['healthy: p50', 'ms', (r) => r.p50],
        ['healthy: p99', 'ms', (r) => r.p99],
      ],
    );
    compare(
      report,
      healthy,
      OURS_TIMEOUT,
      [POOLS, ...proxiesRr],
      [
        ['healthy: CPU per request (client + proxy)', 'µs', (r) => r.cpuUs],
        ['healthy: throughput', 'req/s', (r) => r.rps],
      ],
    );
    compare(report, healthy, OURS_TIMEOUT, [OURS], [['healthy: CPU per request', 'µs', (r) => r.cpuUs]]);
    report.print('Healthy, same-round ratios (Switchyard ÷ peer; lower is better for CPU and latency)', from);
    if (alternates && proxiesRr.length > 0) printByLayout(healthy, [OURS, POOLS], proxiesRr);

    // 2. one of three killed once 20 % of a run is done; fresh backends for every run
    const killVariants: Variant[] = [
      { name: BALANCED, make: balancedPool },
      { name: BALANCED_RETRY, make: balancedPoolRetry },
      { name: OURS, make: client(roundRobin) },
      ...healthyVariants.slice(4),
    ];
    const killTotal = Math.max(sized(5_000, 500), Math.floor(total / 2));
    // The slowest request of a run is a maximum, the noisiest figure there is: one scheduler
    // stall decides it. Its median needs more rounds than a throughput figure.
    const killRounds = Math.max(rounds, KILL_ROUNDS);
    const killed = await roundsAcrossCores(
      killRounds,
      killVariants.map((v) => ({
        name: v.name,
        run: async () => {
          const backends = await startBackends(['k1', 'k2', 'k3']);
          const target = await v.make(backends);
          try {
            await drive(warm, inflight, target);
            const calm = await drive(killTotal, inflight, target, { fraction: 0.2 });
            const run = await drive(killTotal, inflight, target, {
              fraction: 0.2,
              victim: backends[1]!.child,
            });
            return { ...run, calmWorstMs: calm.worstAfterKillMs };
          } finally {
            await target.close();
            await stopBackends(backends);
          }
        },
      })),
    );
    printRuns(
      `Kill: one of three backends SIGKILLed once 20 % of ${killTotal.toLocaleString('en-US')} GETs are done`,
      killed,
      (_, runs) => {
        const m = (pick: (r: Run) => number) => fmt(median(runs.map(pick)));
        return `worst after kill: ${m((r) => r.worstAfterKillMs)} ms (no kill: ${m((r) => r.calmWorstMs)} ms); backend exited after ${m((r) => r.deathMs)} ms; worst after its exit: ${m((r) => r.worstAfterDeathMs)} ms`;
      },
    );
    from = report.size;
    compare(
      report,
      killed,
      OURS,
      [BALANCED, BALANCED_RETRY, ...proxiesRr],
      [
        ['kill: errors', 'errors', (r) => r.errors],
        ['kill: slowest request after the kill', 'ms', (r) => r.worstAfterKillMs],
        ['kill: slowest request after the same mark with no kill', 'ms', (r) => r.calmWorstMs],
        ['kill: CPU per request (client + proxy)', 'µs', (r) => r.cpuUs],
      ],
    );
    report.print('Kill, same-round ratios (Switchyard ÷ peer)', from);
  }

  // 3. one of three 20 ms slow. Each variant runs twice per round, back to back: on the three
  // healthy backends, then on three of which one is slow, so the p99 ratio compares two runs
  // made seconds apart under the same load.
  const slowBackends = await startBackends(['s1', 's2', 's3'], { s2: 20 });
  const slowTotal = Math.max(sized(5_000, 500), Math.floor(total / 2));
  const proxiesLc = proxyVariants('leastConnections');
  const slowVariants: Variant[] = [
    { name: BALANCED, make: balancedPool },
    { name: 'client roundRobin', make: client(roundRobin) },
    { name: 'client leastConnections', make: client(leastConnections) },
    { name: 'client peakEwma', make: client(peakEwma) },
    ...proxiesLc,
  ].filter((v) => slowOnly === undefined || v.name.includes(slowOnly));
  const pairs = await roundsAcrossCores(
    rounds,
    slowVariants.map((v) => ({
      name: v.name,
      run: async () => ({
        healthy: await runVariant(v.make, healthyBackends, slowTotal),
        slow: await runVariant(v.make, slowBackends, slowTotal),
      }),
    })),
  );
  await stopBackends([...healthyBackends, ...slowBackends]);
  const slow: Results = new Map([...pairs].map(([name, runs]) => [name, runs.map((r) => r.slow)]));
  const healthyPair: Results = new Map([...pairs].map(([name, runs]) => [name, runs.map((r) => r.healthy)]));
  printRuns(
    `Healthy runs paired with the slow scene (${slowTotal.toLocaleString('en-US')} GETs)`,
    healthyPair,
  );
  printRuns(
    'Slow: one of three backends answers after 20 ms',
    slow,
    (_, runs) => `slow instance's share: ${fmt(shareOf(runs, 's2'))} %`,
  );
  const from = report.size;
  for (const [name, runs] of slow) {
    report.add({
      figure: 'slow: p99 vs its own healthy p99 (same round)',
      unit: 'ms',
      ours: name,
      oursRounds: runs.map((r) => r.p99),
      peer: 'the same, all three healthy',
      peerRounds: healthyPair.get(name)!.map((r) => r.p99),
    });
  }
  for (const [name, runs] of slow) {
    report.add({
      figure: "slow: the slow instance's share of requests",
      unit: '%',
      ours: name,
      oursRounds: runs.map((r) => {
        const all = [...r.share.values()].reduce((a, b) => a + b, 0);
        return (100 * (r.share.get('s2') ?? 0)) / Math.max(all, 1);
      }),
    });
  }
  compare(
    report,
    slow,
    'client peakEwma',
    [BALANCED, ...proxiesLc.map((v) => v.name)],
    [['slow: p99', 'ms', (r) => r.p99]],
  );
  report.print('Slow, p99 against the healthy run and against the peers (ratio: first ÷ second)', from);
  report.finish();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [total, inflight, rounds] = process.argv.slice(2).map(Number);
  await main(total || sized(16_000, 1_000), inflight || 64, Math.max(sized(3, 1), rounds || sized(3, 1)));
  // Undici keeps no handles after close, but a proxy's stray socket must not hold the run open.
  process.exit(0);
}
