/**
 * The balancer hot spots the rerun found, each against its target, in one process:
 * the load-aware picks (least-connections, P2C, peak-EWMA) at 100–10,000 instances and their
 * allocation, small-ring build time against `consistent-hash`, and the heap of
 * 1,000 services × 10 instances under Maglev against roundRobin. Prints Markdown; not a test.
 *
 *   npx -y pnpm@10.34.8 bench hot-spots
 */
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { type Balancer, HashRing, maglev, roundRobin } from '@switchyard/balancers';
import { createSnapshot, LoadStats } from '@switchyard/core';
import ConsistentHash from 'consistent-hash';
import { fleet } from './fleet.ts';
import { loadAwarePicks, loadAwareTable, loadAwareTargets } from './load-aware-picks.ts';
import { median, msPerBuild, retainedBytes, sink, table } from './measure.ts';

const f = (value: number, digits = 1) => value.toFixed(digits);
const check = (ok: boolean) => (ok ? 'met' : 'MISSED');

async function main(): Promise<void> {
  console.log(`# Balancer hot spots (Node ${process.version}, ${process.platform}/${process.arch})\n`);
  console.log(
    `CPU time, median of runs; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' / ')} on ${availableParallelism()} cores.\n`,
  );
  // Allocation first, while every call site is fresh; then the picks in interleaved rounds, as
  // balancers-bench times them.
  const picks = await loadAwarePicks();
  console.log(loadAwareTable(picks));

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
        const snapshot = createSnapshot(`svc-${s}`, fleet(10, { service: `svc-${s}` }), 1);
        return [snapshot, make().build(snapshot, { load: new LoadStats() })];
      }),
    );
  const snapshotsOnly = retainedBytes(() =>
    Array.from({ length: 1_000 }, (_, s) =>
      createSnapshot(`svc-${s}`, fleet(10, { service: `svc-${s}` }), 1),
    ),
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

  console.log(
    `\n${table(
      ['target', 'measured', ''],
      [
        ...loadAwareTargets(picks),
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
