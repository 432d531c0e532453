/**
 * Every benchmark on built JavaScript: bundles each entry with esbuild into .bench-dist/ (no
 * keepNames, so no wrapper around each closure; peers such as undici, cockatiel and hashring stay
 * external and load from node_modules as the plain JS they ship), then runs each bundle with
 * plain `node --expose-gc` in its own process, so that one's heap and JIT state do not colour the
 * next. Prints the machine's load average around each.
 *
 *   npx -y pnpm@10.34.8 bench                    # all
 *   npx -y pnpm@10.34.8 bench http               # those whose path contains "http"
 *   npx -y pnpm@10.34.8 bench --json out.json    # also write every figure as JSON
 *   npx -y pnpm@10.34.8 bench balancers -- picks # arguments after -- go to each bench
 *   npx -y pnpm@10.34.8 bench http --build-only  # bundle only, to run one by hand:
 *   node --expose-gc .bench-dist/call-path/http-bench.js 4000 64 3
 *   npx -y pnpm@10.34.8 bench --smoke            # every bench at toy sizes (CI): proves each
 *                                                # runs; its figures mean nothing
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));
const benchDir = fileURLToPath(new URL('./', import.meta.url));
const outdir = join(root, '.bench-dist');

/** Benches in the order they run; an entry that does not exist on this branch is left out. */
const benches = [
  'balancers/balancers-bench.ts',
  'balancers/ring-hot-set.ts',
  'balancers/hot-spots-bench.ts',
  'call-path/executor-overhead.ts',
  'call-path/breaker-memory.ts',
  'call-path/failover-after-kill.ts',
  'call-path/http-bench.ts',
  'call-path/request-cpu.ts',
  'call-path/request-profile.ts',
  'call-path/fetch-bench.ts',
  'call-path/interceptor-cost.ts',
  'call-path/instrumentation-overhead.ts',
  'registry/registry-bench.ts',
  'registry/registration-bench.ts',
  'registry/watcher-fanout-bench.ts',
  'registry/oversized-answer-bench.ts',
  'membership/membership-bench.ts',
].filter((bench) => existsSync(join(benchDir, bench)));
/** Scripts the benches start as child processes. */
const helpers = ['call-path/bench-server.ts', 'registry/fanout-server.ts'].filter((helper) =>
  existsSync(join(benchDir, helper)),
);

// Arguments after `--` go to every bench run (`pnpm bench balancers-bench -- picks`).
const all = process.argv.slice(2);
const dashes = all.indexOf('--');
const args = dashes < 0 ? all : all.slice(0, dashes);
const benchArgs = dashes < 0 ? [] : all.slice(dashes + 1);
let jsonPath;
let buildOnly = false;
let noPin = false;
let smoke = false;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--build-only') buildOnly = true;
  else if (args[i] === '--no-pin') noPin = true;
  else if (args[i] === '--smoke') smoke = true;
  else if (args[i] === '--json') {
    jsonPath = args[i + 1] && !args[i + 1].startsWith('-') ? args[++i] : join(outdir, 'bench-results.json');
  } else filters.push(args[i]);
}
const selected = benches.filter((bench) => filters.length === 0 || filters.some((f) => bench.includes(f)));

/**
 * Switchyard's packages (TypeScript sources until they are built) are bundled; every other
 * package stays external, imported by the absolute path it resolves to from its importer, so that
 * undici, cockatiel, hashring, etcd3… run as the plain JS they ship, one instance each.
 */
const externalDependencies = {
  name: 'external-dependencies',
  setup(bundler) {
    bundler.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'resolving' || args.path.startsWith('@switchyard/')) return undefined;
      if (args.path.startsWith('node:') || builtinModules.includes(args.path)) {
        return { path: args.path, external: true };
      }
      const resolved = await bundler.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'resolving',
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      peers.add(args.path);
      return { path: resolved.path, external: true };
    });
  },
};
const peers = new Set();
const started = performance.now();
await build({
  entryPoints: [...selected, ...helpers].map((entry) => join(benchDir, entry)),
  outbase: benchDir,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: `node${process.versions.node}`,
  keepNames: false,
  minify: false,
  // Linked maps (a .js.map beside each bundle, no sources inside): plain `node` ignores them, so
  // the other benches run exactly as before; request-profile reads them to map profile frames
  // back to packages/<name>/src.
  sourcemap: 'linked',
  sourcesContent: false,
  plugins: [externalDependencies],
  // No "module" condition: external packages must resolve to what plain Node loads, not to a
  // bundler-only build (@opentelemetry/api's "module" build has extensionless imports).
  conditions: [],
  outExtension: { '.js': '.js' },

  logLevel: 'warning',
});
console.log(
  `bundled ${selected.length} benches into .bench-dist/ in ${Math.round(performance.now() - started)} ms ` +
    `(external: ${[...peers].sort().join(', ')})`,
);

if (buildOnly) process.exit(0);

const load = () => loadavg().map((value) => Math.round(value * 100) / 100);
// The bench on core 0, what it starts (backends, proxies) on the others: see harness/children.ts.
const cores = cpus().length;
const pin = !noPin && cores >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const childCpus = cores === 2 ? '1' : `1-${cores - 1}`;
console.log(`Node ${process.version}, ${cores} cores; load average at start ${load().join(' / ')}`);
console.log(
  pin
    ? `pinned: benches on core 0, their backends and proxies on core ${childCpus} (--no-pin to leave it to the scheduler)`
    : 'not pinned (no taskset, one core, or --no-pin): CPU figures swing more from round to round',
);
if (smoke)
  console.log('smoke run: every bench at toy sizes, to prove it runs; the figures below mean nothing');
const scratch = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
const results = [];
let failed = 0;
for (const bench of selected) {
  const script = join(outdir, bench.replace(/\.ts$/, '.js'));
  const loadStart = load();
  console.log(`\n=== ${bench} (load average ${loadStart.join(' / ')}) ===`);
  const out = join(scratch, `${results.length}.json`);
  const begun = performance.now();
  const run = spawnSync(
    pin ? 'taskset' : process.execPath,
    [...(pin ? ['-c', '0', process.execPath] : []), '--expose-gc', script, ...benchArgs],
    {
      stdio: 'inherit',
      env: {
        ...process.env,
        BENCH_JSON: out,
        ...(pin ? { BENCH_CPUS: '0', BENCH_CHILD_CPUS: childCpus } : {}),
        ...(smoke ? { BENCH_SMOKE: '1' } : {}),
      },
    },
  );
  const seconds = Math.round((performance.now() - begun) / 100) / 10;
  const loadEnd = load();
  console.log(
    `=== ${bench}: ${run.status === 0 ? 'done' : `failed (${run.status ?? run.signal})`} in ${seconds} s; load average ${loadEnd.join(' / ')} ===`,
  );
  if (run.status !== 0) failed++;
  const entry = { bench, status: run.status, seconds, loadStart, loadEnd };
  results.push(existsSync(out) ? { ...JSON.parse(readFileSync(out, 'utf8')), ...entry } : entry);
  if (run.signal === 'SIGINT') break;
}
rmSync(scratch, { recursive: true, force: true });
if (jsonPath) {
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ node: process.version, cores: cpus().length, finishedAt: new Date().toISOString(), benches: results }, null, 2)}\n`,
  );
  console.log(`\nfigures written to ${jsonPath}`);
}
const failedNames = results.filter((r) => r.status !== 0).map((r) => r.bench);
console.log(
  failed === 0
    ? `\n${results.length} of ${selected.length} benches ran to the end`
    : `\n${failed} of ${selected.length} benches failed: ${failedNames.join(', ')}`,
);
process.exitCode = failed === 0 && results.length === selected.length ? 0 : 1;
