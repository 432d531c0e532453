/**
 * What Switchyard's instrumentation costs when nobody collects anything: `client.request` CPU
 * per request with no instrumentation, against the same with `instrument()` attached and no
 * OpenTelemetry SDK registered (the API's no-op providers), and against a dashboard attached
 * (it subscribes to the attempt channel). One keep-alive backend in a child process; the client's
 * process CPU over a fixed request count; interleaved rounds, medians, same-round ratios.
 *
 *   npx -y pnpm@10.34.8 bench instrumentation
 */
import { ServiceDiscoveryClient } from '@switchyard/client';
import { createDashboard } from '@switchyard/dashboard';
import { instrument } from '@switchyard/opentelemetry';
import { StaticRegistry } from '@switchyard/registry';
import { siblingScript, spawnTracked, stopTracked, waitForLine } from '../harness/children.ts';
import { ownCpuUs } from '../harness/cpu.ts';
import { BenchReport } from '../harness/report.ts';
import { sized } from '../harness/smoke.ts';
import { interleavedRounds } from '../harness/stats.ts';

const REQUESTS = sized(20_000, 500);
const IN_FLIGHT = 64;
const ROUNDS = sized(5, 1);

const server = siblingScript(import.meta.url, 'bench-server');
const backend = spawnTracked(server.command, [...server.args, 'users-1']);
const port = Number((await waitForLine(backend, /ready (\d+)/))[1]);
const registry = new StaticRegistry({
  users: [{ id: 'users-1', service: 'users', host: '127.0.0.1', port }],
});

/** CPU µs per request of one run of REQUESTS GETs through a fresh client, `attach` wired to it. */
async function run(attach: (client: ServiceDiscoveryClient) => () => Promise<void> | void): Promise<number> {
  const client = new ServiceDiscoveryClient({ registry });
  const detach = attach(client);
  // Warm up connections and the JIT outside the measured window.
  for (let i = 0; i < 500; i++) await (await client.request('users', { path: '/' })).body.dump();
  let sent = 0;
  const before = ownCpuUs();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent++ < REQUESTS) await (await client.request('users', { path: '/' })).body.dump();
    }),
  );
  const cpu = ownCpuUs() - before;
  await detach();
  await client.close();
  return cpu / REQUESTS;
}

const report = new BenchReport('instrumentation-overhead');
const results = await interleavedRounds(ROUNDS, [
  { name: 'plain', run: () => run(() => () => undefined) },
  {
    name: 'otel',
    run: () =>
      run((client) => {
        const otel = instrument({ client });
        return () => otel.close();
      }),
  },
  {
    name: 'dashboard',
    run: () =>
      run((client) => {
        const dashboard = createDashboard(client);
        return () => dashboard.close();
      }),
  },
]);
const plain = results.get('plain') ?? [];
report.add({
  figure: `client.request CPU, ${REQUESTS} GETs, ${IN_FLIGHT} in flight`,
  unit: 'µs/req',
  ours: 'instrument() with no SDK registered',
  oursRounds: results.get('otel') ?? [],
  peer: 'no instrumentation',
  peerRounds: plain,
});
report.add({
  figure: `client.request CPU, ${REQUESTS} GETs, ${IN_FLIGHT} in flight`,
  unit: 'µs/req',
  ours: 'createDashboard() attached',
  oursRounds: results.get('dashboard') ?? [],
  peer: 'no instrumentation',
  peerRounds: plain,
});
report.print('Instrumentation with nobody collecting (target: ≤ 1.02× no instrumentation)');
report.finish();
await stopTracked(backend);
