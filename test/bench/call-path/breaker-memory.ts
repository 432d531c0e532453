/**
 * Heap held by per-instance circuit breakers: an executor over 10,000 instances, after one
 * successful call to each (no failure anywhere), and after one counted failure on each (the
 * worst case), against the same executor without breakers. The former design (one cockatiel
 * policy per instance, made on first use) is measured alongside for reference.
 *
 *   npx -y pnpm@10.34.8 bench breaker-memory
 *   node --expose-gc .bench-dist/call-path/breaker-memory.js [instances]
 */
import { LoadStats, type ServiceInstance } from '@switchyard/core';
import { createExecutor, type Executor, type InstanceSource } from '@switchyard/resilience';
import { ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';

const count = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const instances: ServiceInstance[] = Array.from({ length: count }, (_, i) => ({
  id: `i-${i}`,
  service: 'bench',
  host: '10.0.0.1',
  port: 10_000 + i,
}));

/** Walks the instances in order, so that every instance gets exactly one call. */
function everyInstanceOnce(): InstanceSource & { reset(): void } {
  let next = 0;
  return {
    load: new LoadStats(),
    reset: () => {
      next = 0;
    },
    pick(excluded) {
      for (let tries = 0; tries < count; tries++) {
        const instance = instances[next++ % count]!;
        if (!excluded(instance)) return instance;
      }
      return undefined;
    },
  };
}

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

const refused = () => Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
const ok = () => Promise.resolve('ok');

async function executorHeap(breakers: boolean, fn: () => Promise<string>): Promise<number> {
  const source = everyInstanceOnce();
  // Touch every instance once first so that load stats are in both sides of the difference.
  for (let i = 0; i < count; i++) source.load.of(instances[i]!);
  const executor: Executor = createExecutor({
    service: 'bench',
    retry: false,
    retryBudget: false,
    circuitBreaker: breakers ? {} : false,
  });
  const before = heapUsed();
  for (let i = 0; i < count; i++)
    await executor.execute(source, fn, { idempotent: true }).catch(() => undefined);
  const after = heapUsed();
  executor.close();
  return after - before;
}

function cockatielPolicies(): number {
  const before = heapUsed();
  const held: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const policy = circuitBreaker(
      handleWhen(() => true),
      {
        halfOpenAfter: 10_000,
        breaker: new ConsecutiveBreaker(5),
      },
    );
    // The former design listened to three transitions per instance.
    policy.onBreak(() => undefined);
    policy.onHalfOpen(() => undefined);
    policy.onReset(() => undefined);
    held.push(policy);
  }
  const after = heapUsed();
  if (held.length !== count) throw new Error('unreachable');
  return after - before;
}

const kib = (bytes: number) => (bytes / 1024).toFixed(0);
const rows: Array<[string, number]> = [];
// Warm-up: code, inline caches and the source's load stats settle before anything is measured.
for (const breakers of [false, true]) for (const fn of [ok, refused]) await executorHeap(breakers, fn);
const off = await executorHeap(false, ok);
rows.push(['executor, breakers off, one success per instance', off]);
const on = await executorHeap(true, ok);
rows.push(['executor, breakers on, one success per instance', on]);
const failed = await executorHeap(true, refused);
const failedOff = await executorHeap(false, refused);
rows.push(['executor, breakers on, one failure per instance', failed]);
rows.push(['executor, breakers off, one failure per instance', failedOff]);
rows.push(['cockatiel policy per instance (former design)', cockatielPolicies()]);

console.log(`Heap growth over ${count.toLocaleString('en')} instances (after gc), KiB:`);
for (const [name, bytes] of rows) console.log(`  ${name.padEnd(52)} ${kib(bytes).padStart(8)}`);
console.log(
  `Breaker cost before any failure: ${kib(on - off)} KiB (${((on - off) / count).toFixed(0)} B/instance); ` +
    `after one failure each: ${kib(failed - failedOff)} KiB (${((failed - failedOff) / count).toFixed(0)} B/instance)`,
);
