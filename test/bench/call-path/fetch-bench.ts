/**
 * fetch through the Switchyard interceptor vs fetch through a plain undici Agent vs
 * client.request() (and fetch through a pass-through interceptor, to tell undici's compose() cost
 * from Switchyard's), in one run over the same three backends (separate processes on loopback):
 * throughput and this process's CPU µs per request, median of 25 short interleaved rounds with ratios
 * taken within each round; then one of three backends killed at 20 % of a run, counting the
 * requests each one loses. Each undici major in the peer range that runs on this Node is measured
 * with its own fetch and Agent: 7 everywhere, 8 on Node ≥ 22.19 (run the bench under Node 22.19+
 * or 24 for it).
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
import type { Dispatcher } from 'undici';
import * as undici7 from 'undici';
import { pinned, siblingScript } from '../harness/children.ts';
import { BenchReport, fmt, markdownTable } from '../harness/report.ts';
import { sized } from '../harness/smoke.ts';
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

type Undici = Pick<typeof undici7, 'Agent' | 'fetch'>;

/** An undici major: its label ("undici 7") and its own Agent and fetch. */
interface Major {
  readonly label: string;
  readonly undici: Undici;
}

/** The undici majors in @switchyard/fetch's peer range that run on this Node. */
async function majors(): Promise<{ available: Major[]; skipped: string[] }> {
  const available: Major[] = [{ label: 'undici 7', undici: undici7 }];
  const skipped: string[] = [];
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if (major > 22 || (major === 22 && minor >= 19)) {
    available.push({ label: 'undici 8', undici: (await import('undici8')) as unknown as Undici });
  } else {
    skipped.push(`undici 8: needs Node ≥ 22.19, this is ${process.version}`);
  }
  return { available, skipped };
}

const newClient = (backends: readonly Backend[]) =>
  new ServiceDiscoveryClient({
    registry: new StaticRegistry({
      bench: backends.map((b) => ({ id: b.id, service: 'bench', host: '127.0.0.1', port: b.port })),
    }),
    balancer: roundRobin(),
  });

/** fetch with a plain Agent, with a pass-through interceptor, and through Switchyard, on one major. */
function fetchContenders(backends: readonly Backend[], { label, undici }: Major): Contender[] {
  const { Agent, fetch } = undici;
  // The fair baseline: what a user without Switchyard writes, one Agent and a turn counter.
  const plain = new Agent();
  let turn = 0;
  const plainFetch: Contender = {
    name: `fetch, plain Agent (round robin by hand), ${label}`,
    send: async () => {
      turn = turn === backends.length - 1 ? 0 : turn + 1;
      return fromJson(await fetch(`${backends[turn]!.origin}/`, { dispatcher: plain }));
    },
    close: () => plain.close(),
  };

  // What any interceptor costs fetch: on undici 7, compose() adapts fetch's handler to the new
  // hooks and the Agent adapts it back; undici 8 has no adapters. Separates that from Switchyard's
  // own work.
  const composedAgent = new Agent();
  const passThrough: Dispatcher.DispatcherComposeInterceptor = (dispatch) =>
    function passThroughDispatch(opts, handler) {
      return dispatch(opts, handler);
    };
  const composed = composedAgent.compose(passThrough);
  let composedTurn = 0;
  const noopFetch: Contender = {
    name: `fetch, plain Agent + a pass-through interceptor, ${label}`,
    send: async () => {
      composedTurn = composedTurn === backends.length - 1 ? 0 : composedTurn + 1;
      return fromJson(await fetch(`${backends[composedTurn]!.origin}/`, { dispatcher: composed }));
    },
    close: () => composedAgent.close(),
  };

  const fetchClient = newClient(backends);
  const agent = new Agent();
  const dispatcher = agent.compose(switchyard(fetchClient));
  const switchyardFetch: Contender = {
    name: `fetch, Agent.compose(switchyard(client)), ${label}`,
    send: async () => fromJson(await fetch('http://bench/', { dispatcher })),
    close: async () => {
      await fetchClient.close();
      await agent.close();
    },
  };
  return [plainFetch, noopFetch, switchyardFetch];
}

function requestContender(backends: readonly Backend[]): Contender {
  const client = newClient(backends);
  return {
    name: 'client.request()',
    send: async () => fromJson((await client.request('bench', { path: '/' })).body),
    close: () => client.close(),
  };
}

/**
 * Healthy rounds are short and many: on a shared VM the machine's speed drifts within seconds,
 * and a same-round ratio is only as good as how close in time its two figures were taken.
 */
const ROUND_REQUESTS = sized(4_000, 200);
const WARM_UP_ROUNDS = sized(5, 0);

export async function main(total = 20_000, inflight = 64, rounds = 25): Promise<void> {
  const report = new BenchReport('fetch-bench');
  const { available, skipped } = await majors();
  const backends = await Promise.all(['b1', 'b2', 'b3'].map((id) => startBackend(id)));
  const byMajor = available.map((major) => fetchContenders(backends, major));
  const request = requestContender(backends);
  const all = [...byMajor.flat(), request];
  // Rounds interleaved (see `roundOrder`): every ratio compares figures of one round.
  // The first rounds are thrown away: the process is still warming up in them.
  const byRound = await interleavedRounds(
    rounds,
    all.map((c) => ({ name: c.name, run: () => drive(ROUND_REQUESTS, inflight, c.send) })),
    WARM_UP_ROUNDS,
  );
  for (const c of all) await c.close();
  await stopAll(backends);

  console.log(
    `\nHealthy: ${ROUND_REQUESTS} GETs per round, ${inflight} in flight, ${rounds} interleaved rounds after ${WARM_UP_ROUNDS} warm-up rounds (${available.map((m) => `${m.label}: ${versionOf(m.label)}`).join(', ')}; Node ${process.version}).\n`,
  );
  for (const reason of skipped) console.log(`Skipped ${reason}.\n`);
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
  const cpuFigure = (ours: string, peer: string) =>
    report.add({
      figure: 'CPU per request, 64 in flight',
      unit: 'µs',
      ours,
      oursRounds: cpu(ours),
      peer,
      peerRounds: cpu(peer),
    });
  for (const [plainFetch, passThrough, switchyardFetch] of byMajor.map((cs) => cs.map((c) => c.name))) {
    cpuFigure(switchyardFetch!, plainFetch!);
    cpuFigure(passThrough!, plainFetch!);
    cpuFigure(switchyardFetch!, passThrough!);
    report.add({
      figure: 'throughput',
      unit: 'req/s',
      ours: switchyardFetch!,
      oursRounds: rps(switchyardFetch!),
      peer: plainFetch!,
      peerRounds: rps(plainFetch!),
    });
  }
  cpuFigure(request.name, byMajor[0]![0]!.name);
  report.print('Same-round ratios (lower CPU is better)');

  console.log(`\nOne of three killed at 20 % of ${total} GETs (${inflight} in flight): requests lost.\n`);
  console.log('| who | lost | req/s |');
  console.log('| --- | --- | --- |');
  // The plain Agent on undici 7, then Switchyard's fetch on each major, then client.request().
  const killScenes: [make: (bs: readonly Backend[]) => Contender[], which: number][] = [
    [(bs) => fetchContenders(bs, available[0]!), 0],
    ...available.map((major): [(bs: readonly Backend[]) => Contender[], number] => [
      (bs) => fetchContenders(bs, major),
      2,
    ]),
    [(bs) => [requestContender(bs)], 0],
  ];
  for (const [make, which] of killScenes) {
    const bs = await Promise.all(['k1', 'k2', 'k3'].map((id) => startBackend(id)));
    const made = make(bs);
    const c = made[which]!;
    await drive(Math.min(5_000, total), inflight, c.send);
    let killed = false;
    const r = await drive(total, inflight, c.send, (n) => {
      if (!killed && n >= total * 0.2) {
        killed = true;
        bs[1]!.child.kill('SIGKILL');
      }
    });
    console.log(`| ${c.name} | ${r.errors} | ${r.rps.toFixed(0)} |`);
    for (const each of made) await each.close();
    await stopAll(bs);
  }
  report.finish();
}

/** The installed version of the package behind a major's label ("undici 8" is the `undici8` alias). */
function versionOf(label: string): string {
  const name = label === 'undici 8' ? 'undici8' : 'undici';
  return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [total, inflight, rounds] = process.argv.slice(2).map(Number);
  await main(total || sized(20_000, 1_000), inflight || 64, Math.max(sized(3, 1), rounds || sized(25, 1)));
}

/** `spawn` on the children's cores when the bench runs pinned (see harness/children.ts). */
function spawnPinned(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const run = pinned(command, args);
  return spawn(run.command, run.args, options);
}
