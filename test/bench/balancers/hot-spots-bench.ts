/**
 * The balancer hot spots the rerun found, each against its target, in one process:
 * least-connections and P2C pick cost at 100–10,000 instances, allocation per pick of the
 * load-aware pickers, small-ring build time against `consistent-hash`, and the heap of
 * 1,000 services × 10 instances under Maglev against roundRobin. Prints Markdown; not a test.
 *
 *   npx -y pnpm@10.34.8 bench hot-spots
 */
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  type Balancer,
  HashRing,
  leastConnections,
  maglev,
  type Picker,
  peakEwma,
  powerOfTwoChoices,
  roundRobin,
} from '@switchyard/balancers';
import { createSnapshot, LoadStats, type ServiceInstance } from '@switchyard/core';
import ConsistentHash from 'consistent-hash';
import { sized } from '../harness/smoke.ts';
import {
  allocation,
  interleavedNsPerOp,
  median,
  msPerBuild,
  pickOp,
  retainedBytes,
  sink,
  table,
} from './measure.ts';

const serverName = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`;

function fleet(n: number, service = 'bench'): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: serverName(i),
    service,
    host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 8080,
  }));
}

/** A picker over `n` instances whose stats look like a service under load. */
function loadedPicker(make: () => Balancer, n: number): Picker {
  const instances = fleet(n);
  const load = new LoadStats();
  instances.forEach((instance, i) => {
    const stats = load.of(instance);
    stats.inflight = (i * 7) % 4;
    stats.observe(0, 5 + (i % 10));
  });
  return make().build(createSnapshot('bench', instances, 1), { load });
}

const f = (value: number, digits = 1) => value.toFixed(digits);
const PICK_ROUNDS = sized(9, 1);
const check = (ok: boolean) => (ok ? 'met' : 'MISSED');

async function main(): Promise<void> {
  console.log(`# Balancer hot spots (Node ${process.version}, ${process.platform}/${process.arch})\n`);
  console.log(
    `CPU time, median of runs; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' / ')} on ${availableParallelism()} cores.\n`,
  );
  const strategies: [string, () => Balancer][] = [
    ['leastConnections', leastConnections],
    ['powerOfTwoChoices', powerOfTwoChoices],
    ['peakEwma', () => peakEwma()],
  ];

  // Allocation first, while every call site is fresh.
  const bytes = new Map<string, number>();
  const allocRows: string[][] = [];
  for (const [name, make] of strategies) {
    const result = await allocation(pickOp(loadedPicker(make, 100)), 1e6);
    bytes.set(name, result.bytesPerOp);
    allocRows.push([name, f(result.bytesPerOp, 3), String(result.scavenges)]);
  }
  console.log(table(['1,000,000 picks at 100 instances', 'heap bytes/pick', 'scavenges'], allocRows));

  // Every strategy and size timed once per round, the rounds interleaved, each pick compiled for
  // its own picker: as balancers-bench times them, so that the two agree.
  const sizes = [100, 1_000, 10_000];
  const cells = strategies.flatMap(([name, make]) => sizes.map((n) => ({ name, make, n })));
  const samples = await interleavedNsPerOp(
    cells.map(({ make, n }) => pickOp(loadedPicker(make, n))),
    300_000,
    PICK_ROUNDS,
  );
  const ns = new Map<string, number[]>(strategies.map(([name]) => [name, []]));
  cells.forEach(({ name }, k) => {
    ns.get(name)!.push(median(samples[k]!));
  });
  const pickRows = [...ns].map(([name, costs]) => [name, ...costs.map((c) => f(c))]);
  console.log(
    `\n${table([`pick ns/op, median of ${PICK_ROUNDS} interleaved rounds`, ...sizes.map((n) => `${n} inst.`)], pickRows)}`,
  );

  // Small rings: ours against consistent-hash, same member names.
  const ringSizes = [3, 5, 10];
  const ringRows = ringSizes.map((n) => {
    const instances = fleet(n);
    const names = instances.map((instance) => instance.id);
    const repeat = 200;
    const ours = median(
      Array.from({ length: 5 }, () =>
        msPerBuild(() => repeatBuild(repeat, () => new HashRing(instances)), 1),
      ),
    );
    // Like for like: the peer's 40 points a member, without the 1,024-point minimum ring.
    const samePoints = median(
      Array.from({ length: 5 }, () =>
        msPerBuild(
          () => repeatBuild(repeat, () => new HashRing(instances, { virtualNodes: 40, minRingSize: 1 })),
          1,
        ),
      ),
    );
    const peer = median(
      Array.from({ length: 5 }, () =>
        msPerBuild(
          () =>
            repeatBuild(repeat, () => {
              const ring = new ConsistentHash();
              for (const name of names) ring.add(name);
              ring.get('warm'); // it sorts its points on first use
              return ring;
            }),
          1,
        ),
      ),
    );
    const ring = new HashRing(instances);
    return [
      `${n} instances (${ring.pointCount} points)`,
      f((ours / repeat) * 1000, 1),
      f((peer / repeat) * 1000, 1),
      `${f(ours / peer, 2)}×`,
      f((samePoints / repeat) * 1000, 1),
      `${f(samePoints / peer, 2)}×`,
    ];
  });
  console.log(
    `\n${table(
      [
        'ring build',
        'switchyard µs',
        'consistent-hash µs (40 pts/node)',
        'ours ÷ peer',
        'switchyard, 40 pts/node µs',
        'ours ÷ peer, same points',
      ],
      ringRows,
    )}`,
  );

  // Heap of 1,000 services × 10 instances: snapshot and picker per service, as a client keeps them.
  const heapOf = (make: () => Balancer) =>
    retainedBytes(() =>
      Array.from({ length: 1_000 }, (_, s) => {
        const snapshot = createSnapshot(`svc-${s}`, fleet(10, `svc-${s}`), 1);
        return [snapshot, make().build(snapshot, { load: new LoadStats() })];
      }),
    );
  const snapshotsOnly = retainedBytes(() =>
    Array.from({ length: 1_000 }, (_, s) => createSnapshot(`svc-${s}`, fleet(10, `svc-${s}`), 1)),
  );
  const rr = heapOf(roundRobin);
  const mg = heapOf(() => maglev());
  const MiB = 1024 * 1024;
  console.log(
    `\n${table(
      ['1,000 services × 10 instances', 'heap MiB', 'vs roundRobin'],
      [
        ['snapshots alone', f(snapshotsOnly / MiB, 2), ''],
        ['roundRobin (snapshots + pickers)', f(rr / MiB, 2), '1.00×'],
        ['maglev default (snapshots + pickers)', f(mg / MiB, 2), `${f(mg / rr, 2)}×`],
      ],
    )}`,
  );

  const lc = ns.get('leastConnections')!;
  const p2c = ns.get('powerOfTwoChoices')!;
  const ewma = ns.get('peakEwma')!;
  console.log(
    `\n${table(
      ['target', 'measured', ''],
      [
        ['leastConnections ≤ 150 ns at 10,000', `${f(lc[2]!)} ns`, check(lc[2]! <= 150)],
        ['P2C ≤ 40 ns (100–10,000)', `${p2c.map((c) => f(c)).join(' / ')} ns`, check(Math.max(...p2c) <= 40)],
        [
          'peakEwma ≤ 40 ns (100–10,000)',
          `${ewma.map((c) => f(c)).join(' / ')} ns`,
          check(Math.max(...ewma) <= 40),
        ],
        ...strategies.map(([name]) => [
          `${name} 0 bytes/pick`,
          `${f(bytes.get(name)!, 3)} B`,
          check(bytes.get(name)! < 0.5),
        ]),
        ['maglev heap ≤ 2× roundRobin (1,000 × 10)', `${f(mg / rr, 2)}×`, check(mg / rr <= 2)],
      ],
    )}`,
  );
  sink.value = undefined;
}

function repeatBuild(times: number, build: () => unknown): unknown {
  let last: unknown;
  for (let i = 0; i < times; i++) last = build();
  return last;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
