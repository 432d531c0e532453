/**
 * Where the CPU of a `client.request` goes, from V8's sampling CPU profiler (`node:inspector`):
 * N GETs with 64 in flight against one keep-alive `node:http` server in a child process, after a
 * warm-up, profiled with one sample every 50 µs; the same for a bare undici Pool as the reference.
 * The self time of every profile node (the time it was on top of the stack, not counting the
 * functions it called) is attributed to Switchyard's own code per package (frames of the bundle
 * mapped back to `packages/<name>/src` through its source map), undici (and its wasm HTTP
 * parser), Node's internals (`node:*`), native code by name (socket writes, promise jobs…), the
 * bench's own request loop, GC and `(program)`; plus the top 15 Switchyard functions and the
 * Node/native calls they make directly. A second pass runs V8's sampling heap profiler (young
 * garbage included) for the bytes each request allocates, by the same origins.
 *
 * Sampled time is wall-clock, and on a shared machine it also runs while the thread waits for a
 * core: each bucket's µs per request is its share of the main thread's sampled busy time times
 * the main thread's CPU time (/proc/self/task), and its % is of the process's CPU without the
 * profiler's own sampling thread. Rounds are interleaved; each figure is the median over rounds,
 * the Pool's of the same round beside it, and the same-round difference. Sampling attribution is
 * approximate: a sample stands for the interval before the next one, inlined functions count in
 * their caller, the native work and allocation a function causes count as native and GC.
 *
 *   npx -y pnpm@10.34.8 bench request-profile
 *   node --expose-gc .bench-dist/call-path/request-profile.js [requests=20000] [rounds=3] [intervalUs=50]
 *   BENCH_CPUPROFILE_DIR=/tmp/profiles node …   # also keep each profile, for Chrome DevTools
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { StaticRegistry } from '@switchyard/registry';
import { Pool } from 'undici';
import { siblingScript, spawnTracked, stopTracked, waitForLine } from '../harness/children.ts';
import { ownCpuUs, ownThreadsCpuUs, PROFILER_THREAD } from '../harness/cpu.ts';
import { profileWhile, type SelfTimes, selfTimes } from '../harness/cpu-profile.ts';
import {
  BENCH,
  FrameOrigins,
  GC,
  IDLE,
  NATIVE,
  NODE,
  PROGRAM,
  SWITCHYARD,
} from '../harness/frame-origins.ts';
import { type Allocations, allocations, allocationsWhile } from '../harness/heap-profile.ts';
import { BenchReport, fmt, markdownTable } from '../harness/report.ts';
import { sized } from '../harness/smoke.ts';
import { interleavedRounds, median } from '../harness/stats.ts';

const INFLIGHT = 64;
const OURS = 'client.request';
const POOL = 'undici Pool';

/** Sends `total` requests, `INFLIGHT` at a time. */
async function drive(total: number, send: () => Promise<unknown>): Promise<void> {
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      await send();
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
}

interface ProfiledRun {
  readonly times: SelfTimes;
  /** The process's CPU per request, all threads but the profiler's sampling thread, µs. */
  readonly processCpuUs: number;
  /** The main thread's CPU per request, µs (from /proc; the sampled busy time where it is missing). */
  readonly mainCpuUs: number;
  /** The profiler's sampling thread's CPU per request, µs (0 where /proc is missing). */
  readonly profilerCpuUs: number;
}

type Pick = (t: SelfTimes) => number;

/** About one allocation sample per this many bytes. */
const ALLOCATION_INTERVAL = 1_024;

export async function main(total = 20_000, rounds = 3, intervalUs = 50): Promise<void> {
  const report = new BenchReport('request-profile');
  const server = siblingScript(import.meta.url, 'bench-server');
  const backend = spawnTracked(server.command, [...server.args, 'cpu-1']);
  const port = Number((await waitForLine(backend, /ready (\d+)/))[1]);
  const pool = new Pool(`http://127.0.0.1:${port}`);
  const client = new ServiceDiscoveryClient({
    registry: new StaticRegistry({ bench: [{ id: 'cpu-1', service: 'bench', host: '127.0.0.1', port }] }),
  });
  const variants = [
    { name: OURS, send: async () => (await client.request('bench', { path: '/' })).body.dump() },
    { name: POOL, send: async () => (await pool.request({ method: 'GET', path: '/' })).body.dump() },
  ];
  const origins = new FrameOrigins();
  // Set to keep every profile for Chrome DevTools (Performance panel, "Load profile").
  const profileDir = process.env.BENCH_CPUPROFILE_DIR;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  console.log(
    `${total.toLocaleString('en-US')} GETs per profiled run, ${INFLIGHT} in flight, ${rounds} interleaved rounds, ` +
      `one sample every ${intervalUs} µs; one keep-alive server in a child process.`,
  );
  let results: Map<string, ProfiledRun[]>;
  let allocated: Map<string, Allocations[]>;
  const allocationTotal = Math.min(total, 10_000);
  try {
    // Warm-up: over its first ~100,000 requests the process still grows its young generation and
    // compiles; figures from then run up to 1.9× the steady ones.
    for (let pass = 0; pass < 2; pass++) for (const variant of variants) await drive(total, variant.send);
    results = await interleavedRounds(
      rounds,
      variants.map((variant) => ({
        name: variant.name,
        run: async (round): Promise<ProfiledRun> => {
          // No forced gc() here: it shrinks the young generation, and the scavenges that grow it
          // back cost ~30 µs/request on GC helper threads. A short run of the same variant instead.
          await drive(Math.min(2_000, total), variant.send);
          let processCpuUs = 0;
          let mainCpuUs: number | undefined;
          let profilerCpuUs = 0;
          // CPU is read inside the profiled window: Profiler.stop's serialising stays outside.
          const profile = await profileWhile(intervalUs, async () => {
            const processStart = ownCpuUs();
            const threadsStart = ownThreadsCpuUs();
            await drive(total, variant.send);
            const threadsEnd = ownThreadsCpuUs();
            const used = (thread: string) =>
              threadsEnd.has(thread) && threadsStart.has(thread)
                ? (threadsEnd.get(thread)! - threadsStart.get(thread)!) / total
                : undefined;
            profilerCpuUs = used(PROFILER_THREAD) ?? 0;
            processCpuUs = (ownCpuUs() - processStart) / total - profilerCpuUs;
            mainCpuUs = used('main');
          });
          if (profileDir) {
            const file = join(
              profileDir,
              `${variant.name.replace(/\W+/g, '-')}-round-${round + 1}.cpuprofile`,
            );
            writeFileSync(file, JSON.stringify(profile));
          }
          const times = selfTimes(profile, origins);
          return { times, processCpuUs, profilerCpuUs, mainCpuUs: mainCpuUs ?? busyUs(times) / total };
        },
      })),
    );
    // Then what each request allocates (a separate pass: the two profilers would colour each other).
    allocated = await interleavedRounds(
      rounds,
      variants.map((variant) => ({
        name: variant.name,
        run: async () => {
          await drive(Math.min(1_000, allocationTotal), variant.send);
          const profile = await allocationsWhile(ALLOCATION_INTERVAL, () =>
            drive(allocationTotal, variant.send),
          );
          return allocations(profile, origins);
        },
      })),
    );
  } finally {
    await Promise.all([pool.close(), client.close()]);
    await stopTracked(backend);
  }

  const ours = results.get(OURS)!;
  const peer = results.get(POOL)!;
  /**
   * µs of CPU per request in each round: the share of the main thread's sampled busy time,
   * times the main thread's CPU time. Sampled time is wall-clock, and on a shared machine it
   * also counts while the thread waits for a core; the share of it does not.
   */
  const perRequest = (runs: readonly ProfiledRun[], pick: Pick) =>
    runs.map((run) => (pick(run.times) / Math.max(1, busyUs(run.times))) * run.mainCpuUs);
  /** Share of the process's CPU time, % per round. */
  const share = (runs: readonly ProfiledRun[], pick: Pick) =>
    perRequest(runs, pick).map((us, i) => (100 * us) / runs[i]!.processCpuUs);
  const bucketUs =
    (bucket: string): Pick =>
    (t) =>
      t.buckets.get(bucket) ?? 0;
  const sumOf =
    (buckets: readonly string[]): Pick =>
    (t) =>
      buckets.reduce((sum, bucket) => sum + (t.buckets.get(bucket) ?? 0), 0);

  const seen = new Set<string>();
  for (const run of [...ours, ...peer]) for (const bucket of run.times.buckets.keys()) seen.add(bucket);
  const largestShare = (bucket: string) =>
    Math.max(median(share(ours, bucketUs(bucket))), median(share(peer, bucketUs(bucket))));
  const bySize = (buckets: Iterable<string>) =>
    [...buckets].sort(
      (a, b) => median(perRequest(ours, bucketUs(b))) - median(perRequest(ours, bucketUs(a))),
    );
  const rowOf = (bucket: string): [string, Pick] => [bucket, bucketUs(bucket)];
  const last = [BENCH, GC, PROGRAM];
  const others = bySize(
    [...seen].filter((b) => !b.startsWith(SWITCHYARD) && b !== IDLE && b !== NODE && !last.includes(b)),
  );
  // Every Switchyard package gets a row, however small; other origins under 0.5 % share one.
  const small = others.filter((b) => largestShare(b) < 0.5);
  const rowsOf: [string, Pick][] = [
    ...bySize([...seen].filter((b) => b.startsWith(SWITCHYARD))).map(rowOf),
    ['switchyard, all packages', switchyardUs],
    [CALLED_BY_SWITCHYARD, calledBySwitchyardUs],
    ...others.filter((b) => !small.includes(b) && !b.startsWith(NATIVE)).map(rowOf),
    ...(seen.has(NODE) ? [rowOf(NODE)] : []),
    ...others.filter((b) => !small.includes(b) && b.startsWith(NATIVE)).map(rowOf),
    ...(small.length > 0 ? [[`others, each < 0.5 % (${small.length})`, sumOf(small)] as [string, Pick]] : []),
    ...last.filter((b) => seen.has(b)).map(rowOf),
  ];
  const cell = (values: readonly number[], percents?: readonly number[]) => [
    fmt(median(values)),
    percents ? `${fmt(median(percents))} %` : '',
  ];
  const rowCells = (runs: readonly ProfiledRun[], pick: Pick) =>
    cell(perRequest(runs, pick), share(runs, pick));
  const threadCells = (runs: readonly ProfiledRun[], value: (run: ProfiledRun) => number) =>
    cell(
      runs.map(value),
      runs.map((run) => (100 * value(run)) / run.processCpuUs),
    );
  /** Median over rounds of ours − Pool, same round: where client.request's extra CPU lands. */
  const difference = (oursValues: readonly number[], peerValues: readonly number[]) => {
    const value = median(oursValues.map((v, round) => v - peerValues[round]!));
    return `${value > 0 ? '+' : ''}${fmt(value)}`;
  };
  const rows = rowsOf.map(([name, pick]) => [
    name,
    ...rowCells(ours, pick),
    ...rowCells(peer, pick),
    difference(perRequest(ours, pick), perRequest(peer, pick)),
  ]);
  const threadRow = (name: string, value: (run: ProfiledRun) => number) => [
    name,
    ...threadCells(ours, value),
    ...threadCells(peer, value),
    difference(ours.map(value), peer.map(value)),
  ];
  const wall = (runs: readonly ProfiledRun[]) =>
    `${fmt(median(runs.map((run) => busyUs(run.times) / total)))} + ${fmt(median(runs.map((run) => idleUs(run.times) / total)))}`;
  rows.push(
    threadRow('main thread, all of the above', (run) => run.mainCpuUs),
    threadRow("other threads (V8's GC helpers, libuv's pool)", (run) => run.processCpuUs - run.mainCpuUs),
    threadRow("process CPU (user + system) without the profiler's thread", (run) => run.processCpuUs),
    threadRow("the profiler's sampling thread (not in the % above)", (run) => run.profilerCpuUs),
    ['main thread sampled wall time: busy + (idle), not CPU', wall(ours), '', wall(peer), '', ''],
  );
  console.log('\nCPU µs per request by origin of the code, from self time (medians over rounds)\n');
  console.log(
    markdownTable(
      ['origin', `${OURS} µs/req`, '% of process', `${POOL} µs/req`, '% of process', 'difference µs/req'],
      rows,
    ),
  );

  // The top Switchyard functions, and Node/native calls made by them, over all rounds of
  // client.request, scaled like the buckets.
  const scaled = (of: (t: SelfTimes) => Map<string, number>) => {
    const sums = new Map<string, number>();
    for (const run of ours) {
      const scale = run.mainCpuUs / Math.max(1, busyUs(run.times)); // CPU µs/request per sampled µs
      for (const [label, us] of of(run.times)) sums.set(label, (sums.get(label) ?? 0) + us * scale);
    }
    return [...sums].sort((a, b) => b[1] - a[1]);
  };
  const switchyardAll = ours.reduce(
    (sum, run) => sum + (switchyardUs(run.times) * run.mainCpuUs) / Math.max(1, busyUs(run.times)),
    0,
  );
  const processAll = ours.reduce((sum, run) => sum + run.processCpuUs, 0);
  const top = scaled((t) => t.functions).slice(0, 15);
  const topCalls = scaled((t) => t.calledBySwitchyard).slice(0, 10);
  const topRows = (entries: readonly (readonly [string, number])[]) =>
    entries.map(([label, us]) => [
      label,
      fmt(us / ours.length),
      `${fmt((100 * us) / processAll)} %`,
      `${fmt((100 * us) / Math.max(1e-9, switchyardAll))} %`,
    ]);
  console.log(`\nTop ${top.length} Switchyard functions by self time (${OURS}, mean over rounds)\n`);
  console.log(
    markdownTable(
      ['function  package/src/…:line (where it starts)', 'µs/req', '% of process', '% of switchyard'],
      topRows(top),
    ),
  );
  console.log(`\nTop ${topCalls.length} Node/native calls made directly by Switchyard code, by self time\n`);
  console.log(
    markdownTable(
      ['node or native function ← switchyard caller', 'µs/req', '% of process', 'vs switchyard self'],
      topRows(topCalls),
    ),
  );
  console.log(
    [
      '',
      'Self time: the time a function was on top of the stack when sampled, not counting the functions it',
      "called. µs/req = a bucket's share of the main thread's sampled busy time × the main thread's CPU per",
      "request; % = of the process's CPU without the profiler's own thread. Attribution by sampling is",
      'approximate: each sample stands for the interval before the next; inlined functions count in their',
      'caller; native calls and V8 machinery a function triggers (socket writes, promise jobs) count as',
      'native, and its allocations as GC. The profiler adds its own cost (its thread, left out of the %, and',
      "its signal handling, spread over the main thread's buckets): compare shares; take the CPU per",
      'request itself from request-cpu. "Called directly by switchyard": Node\'s or native code whose',
      "first caller below it that is neither is Switchyard's (a socket write undici makes is undici's).",
    ].join('\n'),
  );

  printAllocations(report, allocated.get(OURS)!, allocated.get(POOL)!, allocationTotal);

  for (const [name, pick] of rowsOf) {
    report.add({
      figure: `profile, self time: ${name}`,
      unit: 'µs/req',
      ours: OURS,
      oursRounds: perRequest(ours, pick),
      peer: POOL,
      peerRounds: perRequest(peer, pick),
    });
  }
  report.add({
    figure: "profile: switchyard's share of the process's CPU",
    unit: '%',
    ours: OURS,
    oursRounds: share(ours, switchyardUs),
  });
  report.add({
    figure: 'profile: process CPU per request (profiler running)',
    unit: 'µs',
    ours: OURS,
    oursRounds: ours.map((run) => run.processCpuUs),
    peer: POOL,
    peerRounds: peer.map((run) => run.processCpuUs),
  });
  for (const [label, us] of top) {
    report.note(`top switchyard function by self time: ${label}: ${fmt(us / ours.length)} µs/req`);
  }
  for (const [label, us] of topCalls) {
    report.note(`top node/native call by switchyard: ${label}: ${fmt(us / ours.length)} µs/req`);
  }
  report.finish();
}

const CALLED_BY_SWITCHYARD = '  node internals and native called directly by switchyard (in the rows below)';
const calledBySwitchyardUs: Pick = (t) => [...t.calledBySwitchyard.values()].reduce((sum, us) => sum + us, 0);
const switchyardUs: Pick = (t) =>
  [...t.buckets].reduce((sum, [bucket, us]) => (bucket.startsWith(SWITCHYARD) ? sum + us : sum), 0);
const idleUs: Pick = (t) => t.buckets.get(IDLE) ?? 0;
const busyUs: Pick = (t) => t.sampledUs - idleUs(t);

/** Bytes allocated per request by origin, client.request beside the Pool, and the top allocators. */
function printAllocations(
  report: BenchReport,
  ours: readonly Allocations[],
  peer: readonly Allocations[],
  total: number,
): void {
  type Of = (a: Allocations) => number;
  const perRequest = (runs: readonly Allocations[], of: Of) => runs.map((run) => of(run) / total);
  const bucket =
    (name: string): Of =>
    (a) =>
      a.buckets.get(name) ?? 0;
  const sum = (map: Map<string, number>, filter: (key: string) => boolean = () => true) =>
    [...map].reduce((all, [key, bytes]) => (filter(key) ? all + bytes : all), 0);
  const seen = new Set<string>();
  for (const run of [...ours, ...peer]) for (const name of run.buckets.keys()) seen.add(name);
  const bySize = (names: Iterable<string>) =>
    [...names].sort((a, b) => median(perRequest(ours, bucket(b))) - median(perRequest(ours, bucket(a))));
  const others = bySize([...seen].filter((name) => !name.startsWith(SWITCHYARD)));
  const small = others.filter(
    (name) => Math.max(median(perRequest(ours, bucket(name))), median(perRequest(peer, bucket(name)))) < 16,
  );
  const rows: [string, Of][] = [
    ...bySize([...seen].filter((name) => name.startsWith(SWITCHYARD))).map((name): [string, Of] => [
      name,
      bucket(name),
    ]),
    ['switchyard, all packages', (a) => sum(a.buckets, (name) => name.startsWith(SWITCHYARD))],
    [CALLED_BY_SWITCHYARD, (a) => sum(a.calledBySwitchyard)],
    ...others.filter((name) => !small.includes(name)).map((name): [string, Of] => [name, bucket(name)]),
    ...(small.length > 0
      ? [
          [
            `others, each < 16 B (${small.length})`,
            (a: Allocations) => sum(a.buckets, (n) => small.includes(n)),
          ] as [string, Of],
        ]
      : []),
    ['all allocations', (a) => a.totalBytes],
  ];
  const cells = (values: readonly number[]) => fmt(Math.round(median(values)));
  console.log(
    `\nBytes allocated per request by origin of the allocating code (V8's sampling heap profiler, one sample per ~${ALLOCATION_INTERVAL} B, young garbage included; ${total.toLocaleString('en-US')} GETs per run, medians over rounds)\n`,
  );
  console.log(
    markdownTable(
      ['origin', `${OURS} B/req`, `${POOL} B/req`, 'difference B/req'],
      rows.map(([name, of]) => {
        const mine = perRequest(ours, of);
        const theirs = perRequest(peer, of);
        return [name, cells(mine), cells(theirs), cells(mine.map((v, i) => v - theirs[i]!))];
      }),
    ),
  );
  const top = (of: (a: Allocations) => Map<string, number>, count: number) => {
    const sums = new Map<string, number>();
    for (const run of ours) for (const [key, bytes] of of(run)) sums.set(key, (sums.get(key) ?? 0) + bytes);
    return [...sums]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([key, bytes]) => [key, fmt(Math.round(bytes / (total * ours.length)))]);
  };
  const topFunctions = top((a) => a.functions, 10);
  const topCalls = top((a) => a.calledBySwitchyard, 5);
  console.log(
    `\nTop ${topFunctions.length} Switchyard functions by bytes allocated (${OURS}, mean over rounds)\n`,
  );
  console.log(markdownTable(['function  package/src/…:line (where it starts)', 'B/req'], topFunctions));
  console.log(`\nTop ${topCalls.length} Node/native allocations made directly for Switchyard code\n`);
  console.log(markdownTable(['node or native function ← switchyard caller', 'B/req'], topCalls));
  console.log(
    '\nThe sampling heap profiler charges each sampled object to the function on top of the stack when it\n' +
      'was allocated (objects an async function or a promise allocates for itself count in that function).',
  );
  for (const [name, of] of rows) {
    report.add({
      figure: `allocated per request: ${name.trim()}`,
      unit: 'B',
      ours: OURS,
      oursRounds: perRequest(ours, of),
      peer: POOL,
      peerRounds: perRequest(peer, of),
    });
  }
  for (const [label, bytes] of topFunctions)
    report.note(`top switchyard allocator: ${label}: ${bytes} B/req`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [total, rounds, intervalUs] = process.argv.slice(2).map(Number);
  await main(
    total && total > 0 ? total : sized(20_000, 500),
    Math.max(1, rounds || sized(3, 1)),
    intervalUs || 50,
  );
}
