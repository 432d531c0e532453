/**
 * fetch through the Switchyard interceptor vs fetch through a plain undici Agent vs
 * client.request() (and fetch through a pass-through interceptor, to tell undici's compose() cost
 * from Switchyard's), in one run over the same three backends (separate processes on loopback):
 * throughput and this process's CPU µs per request, median of 25 short interleaved rounds with ratios
 * taken within each round; then one of three backends killed at 20 % of a run, counting the
 * requests each one loses.
 *
 *   pnpm bench fetch-bench
 *   node .bench-dist/call-path/fetch-bench.js [kill-scene requests=20000] [inflight=64] [healthy rounds=25]
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { roundRobin } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { switchyard } from '@switchyard/fetch';
import { StaticRegistry } from '@switchyard/registry';
import { Agent, type Dispatcher, fetch } from 'undici';
import { pinned, siblingScript } from '../harness/children.ts';
import { BenchReport, fmt, markdownTable } from '../harness/report.ts';
import { interleavedRounds, median, middleHalf } from '../harness/stats.ts';

interface Backend {
  readonly id: string;
  readonly origin: string;
  readonly port: number;
  readonly child: ChildProcess;
}

async function startBackend(id: string): Promise<Backend> {
  // The bundled bench-server.js under `pnpm bench`, the .ts under tsx when run from source.
  const { command, args } = siblingScript(import.meta.url, 'bench-server');
  const child = spawnPinned(command, [...args, id], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(/ready (\d+)/.exec(line.toString())?.[1]);
  return { id, port, origin: `http://127.0.0.1:${port}`, child };
}

async function stopAll(backends: readonly Backend[]): Promise<void> {
  for (const b of backends) {
    if (b.child.exitCode !== null || b.child.signalCode !== null) continue;
    b.child.kill('SIGKILL');
    await once(b.child, 'exit');
  }
}

interface Contender {
  readonly name: string;
  /** One GET; resolves with the id of the backend that answered. */
  readonly send: () => Promise<string>;
  readonly close: () => Promise<void>;
}

interface Round {
  readonly rps: number;
  readonly cpuUsPerRequest: number;
  readonly errors: number;
}

async function drive(
  total: number,
  inflight: number,
  send: () => Promise<string>,
  onDone?: (n: number) => void,
) {
  let started = 0;
  let done = 0;
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (started < total) {
      started++;
      try {
        await send();
      } catch {
        errors++;
      }
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rps: total / seconds, cpuUsPerRequest: (cpu.user + cpu.system) / total, errors } satisfies Round;
}

const fromJson = async (res: { json(): Promise<unknown> }) => ((await res.json()) as { from: string }).from;

function contenders(backends: readonly Backend[]): Contender[] {
  const instances = backends.map((b) => ({ id: b.id, service: 'bench', host: '127.0.0.1', port: b.port }));
  const newClient = () =>
    new ServiceDiscoveryClient({
      registry: new StaticRegistry({ bench: instances }),
      balancer: roundRobin(),
    });

  // The fair baseline: what a user without Switchyard writes, one Agent and a turn counter.
  const plain = new Agent();
  let turn = 0;
  const plainFetch: Contender = {
    name: 'fetch, plain Agent (round robin by hand)',
    send: async () => {
      turn = turn === backends.length - 1 ? 0 : turn + 1;
      return fromJson(await fetch(`${backends[turn]!.origin}/`, { dispatcher: plain }));
    },
    close: () => plain.close(),
  };

  // What any undici 7 interceptor costs fetch: compose() adapts fetch's handler to the new hooks
  // and the Agent adapts it back. Separates that from Switchyard's own work.
  const composedAgent = new Agent();
  const passThrough: Dispatcher.DispatcherComposeInterceptor = (dispatch) =>
    function passThroughDispatch(opts, handler) {
      return dispatch(opts, handler);
    };
  const composed = composedAgent.compose(passThrough);
  let composedTurn = 0;
  const noopFetch: Contender = {
    name: 'fetch, plain Agent + a pass-through interceptor',
    send: async () => {
      composedTurn = composedTurn === backends.length - 1 ? 0 : composedTurn + 1;
      return fromJson(await fetch(`${backends[composedTurn]!.origin}/`, { dispatcher: composed }));
    },
    close: () => composedAgent.close(),
  };

  const fetchClient = newClient();
  const agent = new Agent();
  const dispatcher: Dispatcher = agent.compose(switchyard(fetchClient));
  const switchyardFetch: Contender = {
    name: 'fetch, Agent.compose(switchyard(client))',
    send: async () => fromJson(await fetch('http://bench/', { dispatcher })),
    close: async () => {
      await fetchClient.close();
      await agent.close();
    },
  };

  const client = newClient();
  const request: Contender = {
    name: 'client.request()',
    send: async () => fromJson((await client.request('bench', { path: '/' })).body),
    close: () => client.close(),
  };
  return [plainFetch, noopFetch, switchyardFetch, request];
}

/**
 * Healthy rounds are short and many: on a shared VM the machine's speed drifts within seconds,
 * and a same-round ratio is only as good as how close in time its two figures were taken.
 */
const ROUND_REQUESTS = 4_000;
const WARM_UP_ROUNDS = 5;

export async function main(total = 20_000, inflight = 64, rounds = 25): Promise<void> {
  const report = new BenchReport('fetch-bench');
  const backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startBackend(id)));
  const all = contenders(backends);
  // Rounds interleaved, the order rotated each round: every ratio compares figures of one round.
  // The first rounds are thrown away: the process is still warming up in them.
  const byRound = await interleavedRounds(
    rounds,
    all.map((c) => ({ name: c.name, run: () => drive(ROUND_REQUESTS, inflight, c.send) })),
    WARM_UP_ROUNDS,
  );
  for (const c of all) await c.close();
  await stopAll(backends);

  console.log(
    `\nHealthy: ${ROUND_REQUESTS} GETs per round, ${inflight} in flight, ${rounds} interleaved rounds after ${WARM_UP_ROUNDS} warm-up rounds (undici ${undiciVersion()}).\n`,
  );
  const cpu = (name: string) => byRound.get(name)!.map((r) => r.cpuUsPerRequest);
  const rps = (name: string) => byRound.get(name)!.map((r) => r.rps);
  console.log(
    markdownTable(
      ['who', 'CPU µs/req (median)', 'middle half of the rounds (p25–p75)', 'req/s (median)', 'errors'],
      all.map((c) => [
        c.name,
        fmt(median(cpu(c.name))),
        middleHalf(cpu(c.name))
          .map((value) => fmt(value))
          .join('–'),
        fmt(median(rps(c.name))),
        String(byRound.get(c.name)!.reduce((sum, r) => sum + r.errors, 0)),
      ]),
    ),
  );
  const [plainFetch, passThrough, switchyardFetch, request] = all.map((c) => c.name) as [
    string,
    string,
    string,
    string,
  ];
  for (const [ours, peer] of [
    [switchyardFetch, plainFetch],
    [passThrough, plainFetch],
    [switchyardFetch, passThrough],
    [request, plainFetch],
  ] as const) {
    report.add({
      figure: 'CPU per request, 64 in flight',
      unit: 'µs',
      ours,
      oursRounds: cpu(ours),
      peer,
      peerRounds: cpu(peer),
    });
  }
  report.add({
    figure: 'throughput',
    unit: 'req/s',
    ours: switchyardFetch,
    oursRounds: rps(switchyardFetch),
    peer: plainFetch,
    peerRounds: rps(plainFetch),
  });
  report.print('Same-round ratios (lower CPU is better)');

  console.log(`\nOne of three killed at 20 % of ${total} GETs (${inflight} in flight): requests lost.\n`);
  console.log('| who | lost | req/s |');
  console.log('| --- | --- | --- |');
  for (const i of [0, 2, 3]) {
    const bs = await Promise.all(['k1', 'k2', 'k3'].map((id) => startBackend(id)));
    const c = contenders(bs)[i]!;
    await drive(Math.min(5_000, total), inflight, c.send);
    let killed = false;
    const r = await drive(total, inflight, c.send, (n) => {
      if (!killed && n >= total * 0.2) {
        killed = true;
        bs[1]!.child.kill('SIGKILL');
      }
    });
    console.log(`| ${c.name} | ${r.errors} | ${r.rps.toFixed(0)} |`);
    await c.close();
    await stopAll(bs);
  }
  report.finish();
}

function undiciVersion(): string {
  return (createRequire(import.meta.url)('undici/package.json') as { version: string }).version;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [total, inflight, rounds] = process.argv.slice(2).map(Number);
  await main(total || 20_000, inflight || 64, Math.max(3, rounds || 25));
}

/** `spawn` on the children's cores when the bench runs pinned (see harness/children.ts). */
function spawnPinned(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const run = pinned(command, args);
  return spawn(run.command, run.args, options);
}
