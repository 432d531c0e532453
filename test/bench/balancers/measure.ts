import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { PickContext, Picker } from '@switchyard/balancers';
import { sized } from '../harness/smoke.ts';
import { interleavedRounds, median } from '../harness/stats.ts';

export { median };

/** Keeps results alive so the JIT cannot drop the measured work. */
export const sink = { value: 0 as unknown };

/**
 * One pick as an op, compiled anew for each picker: its `picker.pick` call site sees only that
 * picker's class, as a service's own call site does. One closure shared by every strategy went
 * megamorphic, was deoptimised ("wrong call target") as strategies changed, and then a figure
 * depended on which strategies ran before it. With `keys`, call i picks for `keys[i % length]`.
 */
export function pickOp(picker: Picker, keys?: readonly string[]): (i: number) => unknown {
  const context: PickContext = {};
  const body = keys
    ? 'return (i) => { context.hashKey = keys[i % keys.length]; return picker.pick(context); };'
    : 'return () => picker.pick(context);';
  return new Function('picker', 'context', 'keys', body)(picker, context, keys) as (i: number) => unknown;
}

/**
 * CPU time of this process in ns. The benchmark measures CPU time, not wall time: on a shared
 * 2-core machine wall time mostly measures how long the scheduler kept us waiting.
 */
export function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1_000;
}

/**
 * Median ns/op (CPU time) of `runs` timed loops of `ops` calls of `op(i)`, after a warm-up.
 * Each loop is timed as a whole: per-call timers would cost more than the picks being measured.
 */
export function nsPerOp(op: (i: number) => unknown, fullOps: number, fullRuns = 5): number {
  const ops = sized(fullOps, Math.min(fullOps, 2_000));
  const runs = sized(fullRuns, 1);
  const callOps = freshLoop();
  // Warm up for a while, not a count: on a busy machine the optimizing compiler runs late. The
  // warm-up calls the very loop the timing calls, so the timed loop runs optimised code from its
  // first call. (A loop of its own in here was optimised on the fly, by on-stack replacement,
  // while already timed: some samples took twice as long as the rest, at random.)
  const warmUntil = performance.now() + sized(300, 2);
  const chunk = Math.min(ops, 10_000);
  while (performance.now() < warmUntil) callOps(sink, op, chunk);
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = cpuNs();
    callOps(sink, op, ops);
    samples.push((cpuNs() - start) / ops);
  }
  return median(samples);
}

/**
 * ns/op (CPU time) of several ops measured side by side: each is warmed up in its own loop, then
 * every round times one loop of `ops` calls of each, in the order `roundOrder` gives
 * (`interleavedRounds`). Returns each op's figure by round. On a shared host the speed of
 * memory-bound code such as a pick drifts by up to 2× over minutes (the same loop measured 20 and
 * then 35 ns per pick): figures taken in one round saw the same machine, so their ratio holds
 * where the absolute figures do not.
 */
export async function interleavedNsPerOp(
  opList: readonly ((i: number) => unknown)[],
  fullOps: number,
  fullRounds: number,
): Promise<number[][]> {
  const ops = sized(fullOps, Math.min(fullOps, 2_000));
  const chunk = Math.min(ops, 10_000);
  const variants = opList.map((op, k) => {
    const loop = freshLoop();
    const warmUntil = performance.now() + sized(200, 2);
    while (performance.now() < warmUntil) loop(sink, op, chunk);
    return {
      name: String(k),
      run: async () => {
        const start = cpuNs();
        loop(sink, op, ops);
        return (cpuNs() - start) / ops;
      },
    };
  });
  const byName = await interleavedRounds(sized(fullRounds, 1), variants);
  return variants.map(({ name }) => byName.get(name)!);
}

type Loop = (keep: typeof sink, op: (i: number) => unknown, ops: number) => void;

/**
 * `op(0)` … `op(ops - 1)`, results kept alive, in a function compiled anew for each measurement:
 * a loop shared by every strategy sees a new `op` each time, is deoptimised ("wrong call
 * target") and recompiled generic, and then the figure depended on which strategies ran before.
 * With a loop of its own, every strategy and every peer is called from a call site that has only
 * ever seen it, as a service's picker is.
 */
function freshLoop(): Loop {
  return new Function('keep', 'op', 'ops', 'for (let i = 0; i < ops; i++) keep.value = op(i);') as Loop;
}

/** Median ms (CPU time) of `runs` calls of `build()`. */
export function msPerBuild(build: () => unknown, fullRuns: number): number {
  const samples: number[] = [];
  for (let run = 0, runs = sized(fullRuns, 1); run < runs; run++) {
    const start = cpuNs();
    sink.value = build();
    samples.push((cpuNs() - start) / 1e6);
  }
  return median(samples);
}

/** A full GC: `--expose-gc` when given, otherwise switched on at run time. */
export const gc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Bytes a value built by `build()` keeps reachable: JS heap plus typed-array backing stores. */
export function retainedBytes(build: () => unknown): number {
  gc();
  gc();
  const before = process.memoryUsage();
  const kept = build();
  gc();
  gc();
  const after = process.memoryUsage();
  sink.value = kept;
  return after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
}

/**
 * Allocation over `ops` calls: heap growth per call and the scavenges (young-generation GCs) run
 * meanwhile. Zero scavenges and ~0 bytes per call over a million calls means nothing allocates.
 */
export async function allocation(
  op: (i: number) => unknown,
  fullOps: number,
): Promise<{ bytesPerOp: number; scavenges: number }> {
  const ops = sized(fullOps, Math.min(fullOps, 2_000));
  // Long enough for the optimising compiler to settle: a pick compiled late allocates while it runs
  // unoptimised, which is not what a long-running process pays.
  for (let i = 0, warm = sized(500_000, 2_000); i < warm; i++) sink.value = op(i);
  let scavenges = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as unknown as { detail?: { kind?: number } }).detail;
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
    }
  });
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < ops; i++) sink.value = op(i);
  const after = process.memoryUsage().heapUsed;
  await new Promise((resolve) => setImmediate(resolve));
  observer.disconnect();
  return { bytesPerOp: (after - before) / ops, scavenges };
}

/** max/mean and coefficient of variation of per-instance counts. */
export function spread(counts: Iterable<number>): { maxOverMean: number; cv: number } {
  const values = [...counts];
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { maxOverMean: Math.max(...values) / mean, cv: Math.sqrt(variance) / mean };
}

/** Renders a Markdown table with right-aligned cells. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, c) => Math.max(header.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, c) => (c === 0 ? `-${'-'.repeat(width)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}
