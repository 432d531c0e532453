/**
 * Executor overhead, like with like: calls of an immediately-resolving function through
 * Switchyard's executor and through the cockatiel policies that do the same job, at 1, 64 and
 * 1,024 calls in flight.
 *
 * - Switchyard default (retry + per-instance breakers + retry budget) vs cockatiel
 *   `wrap(retry, breaker)`;
 * - Switchyard with `timeoutMs` and a function that listens on `ctx.signal` (one abort listener
 *   added and removed, as undici does with a request's signal) vs cockatiel
 *   `wrap(retry, breaker, timeout)` with a function that does the same with its `signal`: a
 *   timeout is only worth its cost to a function that passes the signal on. Switchyard's
 *   cheaper `ctx.abortTarget` (what client.request hands undici) is measured too. Cockatiel's timeout runs both with
 *   its default (`abortOnReturn`: abort each call's signal once it returns) and without, which
 *   is what Switchyard does.
 *
 * Figures are CPU ns per call (process.cpuUsage over a fixed call count), the median of ROUNDS
 * interleaved rounds, with the ratio to the peer measured in the same round.
 *
 *   pnpm bench executor
 *   node .bench-dist/call-path/executor-overhead.js [calls=100000] [rounds=3]
 */
import { pathToFileURL } from 'node:url';
import { LoadStats, type ServiceInstance } from '@switchyard/core';
import { type AttemptContext, createExecutor, type InstanceSource } from '@switchyard/resilience';
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  type IDefaultPolicyContext,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { ownCpuUs } from '../harness/cpu.ts';
import { BenchReport, fmt, markdownTable } from '../harness/report.ts';
import { sized } from '../harness/smoke.ts';
import { interleavedRounds, median } from '../harness/stats.ts';

/** Round robin over three instances without allocating: what a balancer's picker does. */
function threeInstances(): InstanceSource {
  const list: ServiceInstance[] = [1, 2, 3].map((n) => ({
    id: `bench-${n}`,
    service: 'bench',
    host: '127.0.0.1',
    port: 9000 + n,
  }));
  let next = 0;
  return {
    load: new LoadStats(),
    pick(excluded) {
      for (let i = 0; i < list.length; i++) {
        const instance = list[(next + i) % list.length]!;
        if (!excluded(instance)) {
          next = (next + i + 1) % list.length;
          return instance;
        }
      }
      return undefined;
    },
  };
}

/** CPU and wall ns per call of `calls` calls of `once`, `inflight` of them at a time. */
async function measure(
  calls: number,
  inflight: number,
  once: () => Promise<unknown>,
): Promise<{ cpuNs: number; wallNs: number }> {
  let started = 0;
  const worker = async () => {
    while (started < calls) {
      started++;
      await once();
    }
  };
  const cpuStart = ownCpuUs();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(inflight, calls) }, worker));
  const wallNs = Number(process.hrtime.bigint() - t0) / calls;
  return { cpuNs: ((ownCpuUs() - cpuStart) * 1_000) / calls, wallNs };
}

/** Keeps the signal read observable so the JIT cannot drop it. */
let signalsSeen = 0;

export async function main(calls = 100_000, rounds = 3): Promise<void> {
  const report = new BenchReport('executor-overhead');
  const value = { ok: true };
  const plain = () => Promise.resolve(value);
  // What undici does with a request's signal: one abort listener, removed when the request ends.
  const noop = () => undefined;
  const readsSignal = (_: ServiceInstance, ctx: AttemptContext) => {
    ctx.signal.addEventListener('abort', noop, { once: true });
    ctx.signal.removeEventListener('abort', noop);
    signalsSeen++;
    return Promise.resolve(value);
  };
  const usesAbortTarget = (_: ServiceInstance, ctx: AttemptContext) => {
    ctx.abortTarget?.addEventListener('abort', noop, { once: true });
    ctx.abortTarget?.removeEventListener('abort', noop);
    return Promise.resolve(value);
  };
  const cockatielReadsSignal = (ctx: IDefaultPolicyContext) => {
    ctx.signal.addEventListener('abort', noop, { once: true });
    ctx.signal.removeEventListener('abort', noop);
    signalsSeen++;
    return Promise.resolve(value);
  };
  const source = threeInstances();

  const ours = createExecutor({ service: 'bench' });
  const oursTimeout = createExecutor({ service: 'bench', timeoutMs: 1_000 });
  const policy = () =>
    [
      retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
      circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
    ] as const;
  const cockatielRetryBreaker = wrap(...policy());
  const cockatielRetryBreakerTimeout = wrap(...policy(), timeout(1_000, TimeoutStrategy.Aggressive));
  // By default cockatiel aborts each call's signal when the call returns (a DOMException per
  // call); Switchyard does not, so the like-for-like peer turns that off.
  const cockatielRetryBreakerTimeoutNoAbort = wrap(
    ...policy(),
    timeout(1_000, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false }),
  );

  const BARE = 'bare await';
  const OURS = 'switchyard default';
  const OURS_TIMEOUT = 'switchyard timeoutMs, fn listens on ctx.signal';
  const OURS_TARGET = 'switchyard timeoutMs, fn listens on ctx.abortTarget';
  const PEER = 'cockatiel wrap(retry, breaker)';
  const PEER_TIMEOUT = 'cockatiel wrap(retry, breaker, timeout), fn listens on signal';
  const PEER_TIMEOUT_NO_ABORT =
    'cockatiel wrap(retry, breaker, timeout abortOnReturn: false), fn listens on signal';
  // [name, call, share of `calls`]: the slow stacks run fewer calls so that each row takes
  // about as long; CPU per call does not depend on the count once past the warm-up.
  const stacks: readonly (readonly [string, () => Promise<unknown>, number])[] = [
    [BARE, plain, 1],
    [OURS, () => ours.execute(source, plain), 1],
    [PEER, () => cockatielRetryBreaker.execute(plain), 1],
    [OURS_TIMEOUT, () => oursTimeout.execute(source, readsSignal), 0.25],
    [OURS_TARGET, () => oursTimeout.execute(source, usesAbortTarget), 0.25],
    [PEER_TIMEOUT, () => cockatielRetryBreakerTimeout.execute(cockatielReadsSignal), 0.1],
    [PEER_TIMEOUT_NO_ABORT, () => cockatielRetryBreakerTimeoutNoAbort.execute(cockatielReadsSignal), 0.25],
  ];
  console.log(
    `${calls.toLocaleString('en-US')} calls per run (a quarter with timeoutMs, a tenth with cockatiel's timeout), ` +
      `${rounds} interleaved rounds, at 1, 64 and 1,024 in flight`,
  );
  const levels = [1, 64, 1_024];
  const rows: string[][] = [];
  for (const inflight of levels) {
    for (const [, once, share] of stacks)
      await measure(Math.ceil(Math.min(50_000, calls) * share), inflight, once);
    const results = await interleavedRounds(
      rounds,
      stacks.map(([name, once, share]) => ({
        name,
        run: () => measure(Math.ceil(calls * share), inflight, once),
      })),
    );
    const cpu = (name: string) => results.get(name)!.map((r) => r.cpuNs);
    for (const [name] of stacks) {
      const runs = results.get(name)!;
      rows.push([
        `${name} @ ${inflight}`,
        fmt(median(runs.map((r) => r.cpuNs))),
        fmt(median(runs.map((r) => r.wallNs))),
        fmt(median(runs.map((r, i) => r.cpuNs - cpu(BARE)[i]!))),
      ]);
    }
    for (const [oursName, peerName] of [
      [OURS, PEER],
      [OURS_TIMEOUT, PEER_TIMEOUT_NO_ABORT],
      [OURS_TIMEOUT, PEER_TIMEOUT],
      [OURS_TIMEOUT, OURS],
      [OURS_TARGET, PEER_TIMEOUT_NO_ABORT],
      [OURS_TARGET, OURS],
    ] as const) {
      report.add({
        figure: `CPU per call, ${inflight} in flight`,
        unit: 'ns',
        ours: oursName,
        oursRounds: cpu(oursName),
        peer: peerName,
        peerRounds: cpu(peerName),
      });
    }
  }
  for (const executor of [ours, oursTimeout]) executor.close();
  console.log(`\nMedians per stack (signals read: ${signalsSeen > 0 ? 'yes' : 'no'})\n`);
  console.log(
    markdownTable(['stack @ in flight', 'CPU ns/call', 'wall ns/call', 'CPU ns over bare await'], rows),
  );
  report.print('Executor, same-round ratios (Switchyard ÷ peer; lower is better)');
  report.finish();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [calls, rounds] = process.argv.slice(2).map(Number);
  await main(calls && calls > 0 ? calls : sized(100_000, 2_000), Math.max(3, rounds || 3));
}
