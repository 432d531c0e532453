/**
 * Every benchmark, one after the other, in separate processes so that one's heap and JIT
 * state do not colour the next. Prints each table as it comes.
 *
 *   npx -y pnpm@10.34.8 bench            # all
 *   npx -y pnpm@10.34.8 bench balancers  # those whose path contains "balancers"
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = [
  'balancers/balancers-bench.ts',
  'call-path/executor-overhead.ts',
  'call-path/breaker-memory.ts',
  'call-path/failover-after-kill.ts',
  'call-path/http-bench.ts',
  'call-path/fetch-bench.ts',
  'registry/registry-bench.ts',
  'registry/registration-bench.ts',
  'registry/watcher-fanout-bench.ts',
  'registry/oversized-answer-bench.ts',
  'membership/membership-bench.ts',
];
const filter = process.argv[2];
let failed = 0;
for (const bench of benches.filter((b) => !filter || b.includes(filter))) {
  const script = fileURLToPath(new URL(`./${bench}`, import.meta.url));
  console.log(`\n=== ${bench} ===`);
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], { stdio: 'inherit' });
  if (run.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
