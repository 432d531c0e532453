/**
 * Executor overhead: 1,000,000 calls of an immediately-resolving function through each stack,
 * one call at a time, against a bare `await`. Run: `npx tsx test/bench/call-path/executor-overhead.ts`.
 * Optional argument: number of calls (default 1,000,000).
 */
import { pathToFileURL } from 'node:url';
import { LoadStats, type ServiceInstance } from '@switchyard/core';
import { type AttemptContext, createExecutor, type InstanceSource } from '@switchyard/resilience';
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';

interface Row {
  readonly name: string;
  readonly calls: number;
  /** Wall time per call. */
  readonly nsPerOp: number;
  /** CPU time (user + system) per call: what the stack costs, even when other processes take the CPU. */
  readonly cpuNsPerOp: number;
}

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

/**
 * Runs `once` up to `calls` times, sequentially. Each row also stops after `budgetMs` so that
 * the whole script stays under 90 s on a slow or busy machine; the row says how many calls ran.
 */
async function measure(
  name: string,
  calls: number,
  once: () => Promise<unknown>,
  budgetMs = 11_000,
): Promise<Row> {
  const warmup = Math.min(50_000, Math.ceil(calls / 10));
  for (let i = 0; i < warmup; i++) await once();
  const budgetNs = BigInt(budgetMs) * 1_000_000n;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let done = 0;
  while (done < calls) {
    // Check the clock once per 1,000 calls: reading it per call would be measured too.
    for (let i = 0; i < 1_000 && done < calls; i++, done++) await once();
    if (process.hrtime.bigint() - start > budgetNs) break;
  }
  const elapsed = Number(process.hrtime.bigint() - start);
  const cpu = process.cpuUsage(cpuStart);
  return { name, calls: done, nsPerOp: elapsed / done, cpuNsPerOp: ((cpu.user + cpu.system) * 1000) / done };
}

export async function main(calls = 1_000_000): Promise<Row[]> {
  const value = { ok: true };
  const fn = () => Promise.resolve(value);
  const source = threeInstances();

  const ours = createExecutor({ service: 'bench' });
  const oursTimeout = createExecutor({ service: 'bench', timeoutMs: 1_000 });
  const oursDeadline = createExecutor({ service: 'bench', timeoutMs: 1_000, deadlineMs: 5_000 });
  const callerSignal = new AbortController().signal;
  const backoff = new ExponentialBackoff();
  const cockatielWrap = wrap(
    retry(handleAll, { maxAttempts: 2, backoff }),
    circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(1_000, TimeoutStrategy.Aggressive),
  );
  const cockatielRetry = retry(handleAll, { maxAttempts: 2, backoff });

  const rows: Row[] = [];
  rows.push(await measure('bare await', calls, fn));
  rows.push(
    await measure('switchyard default (retry 3 + breaker 5 + budget)', calls, () => ours.execute(source, fn)),
  );
  rows.push(
    await measure('switchyard default + caller signal', calls, () =>
      ours.execute(source, fn, { signal: callerSignal }),
    ),
  );
  rows.push(await measure('switchyard default + timeoutMs', calls, () => oursTimeout.execute(source, fn)));
  // What undici does with a request's `signal`: one abort listener, removed when the request ends.
  const noop = () => undefined;
  const readsSignal = (_instance: ServiceInstance, ctx: AttemptContext) => {
    ctx.signal.addEventListener('abort', noop, { once: true });
    ctx.signal.removeEventListener('abort', noop);
    return Promise.resolve(value);
  };
  const usesTarget = (_instance: ServiceInstance, ctx: AttemptContext) => {
    ctx.abortTarget?.addEventListener('abort', noop, { once: true });
    ctx.abortTarget?.removeEventListener('abort', noop);
    return Promise.resolve(value);
  };
  rows.push(
    await measure('switchyard + timeoutMs, fn listens on ctx.signal', calls, () =>
      oursTimeout.execute(source, readsSignal),
    ),
  );
  rows.push(
    await measure('switchyard + timeoutMs, fn listens on ctx.abortTarget', calls, () =>
      oursTimeout.execute(source, usesTarget),
    ),
  );
  rows.push(
    await measure('switchyard default + timeoutMs + deadlineMs', calls, () =>
      oursDeadline.execute(source, fn),
    ),
  );
  rows.push(await measure('cockatiel wrap(retry, breaker, timeout)', calls, () => cockatielWrap.execute(fn)));
  rows.push(await measure('cockatiel retry alone', calls, () => cockatielRetry.execute(fn)));
  for (const executor of [ours, oursTimeout, oursDeadline]) executor.close();

  // Ratios use CPU time: on a shared machine wall time also counts the time other processes ran.
  const bare = rows[0]!.cpuNsPerOp;
  const wrapped = rows.find((row) => row.name.startsWith('cockatiel wrap'))!.cpuNsPerOp;
  const table = rows.map((row) => ({
    stack: row.name,
    calls: row.calls,
    'wall ns/op': Math.round(row.nsPerOp),
    'cpu ns/op': Math.round(row.cpuNsPerOp),
    'cpu overhead ns/op': Math.round(row.cpuNsPerOp - bare),
    'x bare': (row.cpuNsPerOp / bare).toFixed(2),
    'x cockatiel wrap': (row.cpuNsPerOp / wrapped).toFixed(3),
  }));
  console.log(
    `executor overhead: ${calls.toLocaleString('en-US')} sequential calls per row (fewer if a row hits its time budget), Node ${process.version}`,
  );
  console.table(table);
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const calls = Number(process.argv[2] ?? 1_000_000);
  await main(Number.isInteger(calls) && calls > 0 ? calls : 1_000_000);
}
