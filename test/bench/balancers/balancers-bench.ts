/**
 * Balancer benchmark: pick cost of every strategy, and the hash ring and Maglev against the
 * peers a user would otherwise reach for, `hashring` (ketama, md5) and `consistent-hash`, in one
 * process on the same keys. Prints Markdown tables; not a test.
 *
 *   npx -y pnpm@10.34.8 bench balancers-bench --build-only
 *   node --expose-gc .bench-dist/balancers/balancers-bench.js          # everything
 *   node --expose-gc .bench-dist/balancers/balancers-bench.js picks    # load-aware picks only:
 *     allocation and ns/pick of leastConnections, powerOfTwoChoices and peakEwma at 100, 1,000
 *     and 10,000 instances in interleaved rounds, with their targets (about 10 s)
 */
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  type Balancer,
  consistentHash,
  HashRing,
  leastConnections,
  MaglevTable,
  maglev,
  murmur3,
  type PickContext,
  peakEwma,
  powerOfTwoChoices,
  random,
  roundRobin,
  weightedRandom,
  weightedRoundRobin,
} from '@switchyard/balancers';
import { createSnapshot, LoadStats } from '@switchyard/core';
import ConsistentHash from 'consistent-hash';
import KetamaRing from 'hashring';
import { sized } from '../harness/smoke.ts';
import { fleet, loadedPicker, serverName } from './fleet.ts';
import { loadAwarePicks, loadAwareTable, loadAwareTargets } from './load-aware-picks.ts';
import { allocation, msPerBuild, nsPerOp, pickOp, retainedBytes, sink, spread, table } from './measure.ts';

const KEY_COUNT = sized(1_000_000, 20_000);
/** hashring needs ~3 µs per distinct key: time it on a fifth of the keys. */
const KETAMA_KEYS = sized(200_000, 4_000);
const REMAP_KEYS = sized(200_000, 4_000);

const keys = Array.from({ length: KEY_COUNT }, (_, i) => `user:${i}`);

interface Strategy {
  readonly name: string;
  readonly make: () => Balancer;
  readonly weighted?: boolean;
  readonly keyed?: boolean;
}

const strategies: readonly Strategy[] = [
  { name: 'roundRobin', make: roundRobin },
  { name: 'weightedRoundRobin (w 1–3)', make: weightedRoundRobin, weighted: true },
  { name: 'random', make: random },
  { name: 'weightedRandom (w 1–3)', make: weightedRandom, weighted: true },
  { name: 'leastConnections', make: leastConnections },
  { name: 'powerOfTwoChoices', make: powerOfTwoChoices },
  { name: 'peakEwma', make: peakEwma },
  { name: 'consistentHash (160 vnodes)', make: consistentHash, keyed: true },
  { name: 'consistentHash bounded c=1.25', make: () => consistentHash({ boundedLoad: 1.25 }), keyed: true },
  { name: 'maglev (65537)', make: () => maglev({ tableSize: 65_537 }), keyed: true },
  { name: 'maglev (default, fleet-sized)', make: () => maglev(), keyed: true },
];

const f = (value: number, digits = 0) => value.toFixed(digits);
const ratio = (peer: number, ours: number) => `${(peer / ours).toFixed(1)}×`;

/** Pick ns/op by strategy name, at 100 instances: for the targets. */
const pickAt100 = new Map<string, number>();

function pickCosts(): string {
  const sizes = [10, 100, 1000];
  const rows = strategies.map((strategy) => [
    strategy.name,
    ...sizes.map((n) => {
      const picker = loadedPicker(strategy.make(), n, strategy.weighted);
      const ops = n === 1000 && /least|bounded/.test(strategy.name) ? 100_000 : 500_000;
      const ns = nsPerOp(pickOp(picker, strategy.keyed ? keys : undefined), ops);
      if (n === 100) pickAt100.set(strategy.name, ns);
      return f(ns, 1);
    }),
  ]);
  return table(['strategy: pick ns/op (median of 5)', ...sizes.map((n) => `${n} inst.`)], rows);
}

/** Strategy names whose picks allocated, at 100 instances. */
const allocating = new Set<string>();

async function allocations(): Promise<string> {
  const rows: string[][] = [];
  for (const strategy of strategies) {
    const { bytesPerOp, scavenges } = await allocation(
      pickOp(loadedPicker(strategy.make(), 100, strategy.weighted), strategy.keyed ? keys : undefined),
      1e6,
    );
    const none = scavenges === 0 && bytesPerOp < 0.5;
    if (!none) allocating.add(strategy.name);
    rows.push([strategy.name, f(bytesPerOp, 3), String(scavenges), none ? 'none' : 'ALLOCATES']);
  }
  const ring = new HashRing(fleet(100));
  const { bytesPerOp, scavenges } = await allocation((i) => ring.get(keys[i % KEY_COUNT]!), 1e6);
  rows.push([
    'HashRing.get',
    f(bytesPerOp, 3),
    String(scavenges),
    scavenges === 0 && bytesPerOp < 0.5 ? 'none' : 'ALLOCATES',
  ]);
  return table(['1,000,000 picks at 100 instances', 'heap bytes/pick', 'scavenges', 'allocation'], rows);
}

interface Lookup {
  readonly ours: number;
  readonly ketama: number;
  readonly chash: number;
}

function ringLookups(): { text: string; at1000: Lookup } {
  const sizes = [10, 100, 1000];
  const results = sizes.map((n): Lookup => {
    const names = fleet(n).map((instance) => instance.id);
    const ours = new HashRing(fleet(n));
    const ketama = new KetamaRing(names);
    const chash = new ConsistentHash();
    for (const name of names) chash.add(name);
    return {
      ours: nsPerOp((i) => ours.get(keys[i]!), KEY_COUNT, 3),
      // Keys never repeat within a run, so hashring's LRU cache only costs, never hits.
      ketama: nsPerOp((i) => ketama.get(keys[i]!), KETAMA_KEYS, 1),
      chash: nsPerOp((i) => chash.get(keys[i]!), KEY_COUNT, 3),
    };
  });
  const row = (label: string, pick: (r: Lookup) => string) => [label, ...results.map(pick)];
  const text = table(
    ['ring lookup, distinct keys (ns/op)', ...sizes.map((n) => `${n} inst.`)],
    [
      row('switchyard HashRing (160 vnodes)', (r) => f(r.ours, 1)),
      row('hashring (ketama, 160 points)', (r) => f(r.ketama, 1)),
      row('consistent-hash (40 points)', (r) => f(r.chash, 1)),
      row('hashring ÷ switchyard', (r) => ratio(r.ketama, r.ours)),
      row('consistent-hash ÷ switchyard', (r) => ratio(r.chash, r.ours)),
    ],
  );
  return { text, at1000: results[2]! };
}

function buildsAndHeap(): { text: string; oursMs: number; oursMiB: number; ketamaMs: number } {
  const instances = fleet(1000);
  const names = instances.map((instance) => instance.id);
  const buildChash = () => {
    const ring = new ConsistentHash();
    for (const name of names) ring.add(name);
    ring.get('warm'); // it sorts its points on first use
    return ring;
  };
  const oursMs = msPerBuild(() => new HashRing(instances), 7);
  const ketamaMs = msPerBuild(() => new KetamaRing(names), 3);
  const chashMs = msPerBuild(buildChash, 3);
  const maglevMs = msPerBuild(() => new MaglevTable(instances, 65_537), 5);
  const MiB = 1024 * 1024;
  const oursMiB = retainedBytes(() => new HashRing(instances)) / MiB;
  const ketamaMiB = retainedBytes(() => new KetamaRing(names)) / MiB;
  const chashMiB = retainedBytes(buildChash) / MiB;
  const maglevMiB = retainedBytes(() => new MaglevTable(instances, 65_537)) / MiB;
  const text = table(
    ['1000 instances', 'build ms (median)', 'heap MiB', 'build vs ours', 'heap vs ours'],
    [
      ['switchyard HashRing (160 vnodes)', f(oursMs, 2), f(oursMiB, 2), '1.0×', '1.0×'],
      [
        'hashring (ketama, 160 points)',
        f(ketamaMs, 2),
        f(ketamaMiB, 2),
        ratio(ketamaMs, oursMs),
        ratio(ketamaMiB, oursMiB),
      ],
      [
        'consistent-hash (40 points)',
        f(chashMs, 2),
        f(chashMiB, 2),
        ratio(chashMs, oursMs),
        ratio(chashMiB, oursMiB),
      ],
      [
        'switchyard MaglevTable (65537)',
        f(maglevMs, 2),
        f(maglevMiB, 2),
        ratio(maglevMs, oursMs),
        ratio(maglevMiB, oursMiB),
      ],
    ],
  );
  return { text, oursMs, oursMiB, ketamaMs };
}

type Counter = (n: number) => Iterable<number>;

function countBy(lookup: (key: string) => string | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) {
    const owner = lookup(key)!;
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return counts;
}

const spreadOf: Record<string, Counter> = {
  'switchyard ring (160 vnodes)': (n) => {
    const ring = new HashRing(fleet(n));
    return countBy((key) => ring.get(key)?.id).values();
  },
  'switchyard bounded loads (c=1.25)': (n) => {
    // Every key stays in flight: the bound is tested against a million concurrent requests.
    const load = new LoadStats();
    const picker = consistentHash({ boundedLoad: 1.25 }).build(createSnapshot('bench', fleet(n), 1), {
      load,
    });
    const context: PickContext = {};
    for (const key of keys) {
      context.hashKey = key;
      load.of(picker.pick(context)!).onStart();
    }
    return fleet(n).map((instance) => load.of(instance).inflight);
  },
  'switchyard maglev (65537)': (n) => {
    const picker = maglev({ tableSize: 65_537 }).build(createSnapshot('bench', fleet(n), 1), {
      load: new LoadStats(),
    });
    const context: PickContext = {};
    return countBy((key) => {
      context.hashKey = key;
      return picker.pick(context)?.id;
    }).values();
  },
  'hashring (ketama, 160 points)': (n) => {
    const ring = new KetamaRing(fleet(n).map((instance) => instance.id));
    return countBy((key) => ring.get(key)).values();
  },
  'consistent-hash (40 points)': (n) => {
    const ring = new ConsistentHash();
    for (const instance of fleet(n)) ring.add(instance.id);
    return countBy((key) => ring.get(key) ?? undefined).values();
  },
};

function spreads(): { text: string; at100: Map<string, { maxOverMean: number; cv: number }> } {
  const at100 = new Map<string, { maxOverMean: number; cv: number }>();
  const rows = Object.entries(spreadOf).map(([name, counter]) => {
    const s10 = spread(counter(10));
    const s100 = spread(counter(100));
    at100.set(name, s100);
    return [name, f(s10.maxOverMean, 3), f(s10.cv, 4), f(s100.maxOverMean, 3), f(s100.cv, 4)];
  });
  const text = table(
    ['load spread, 1,000,000 keys', '10: max/mean', '10: CV', '100: max/mean', '100: CV'],
    rows,
  );
  return { text, at100 };
}

type Lookuper = (n: number) => (key: string) => string | undefined;

const remapOf: Record<string, Lookuper> = {
  'switchyard ring (160 vnodes)': (n) => {
    const ring = new HashRing(fleet(n));
    return (key) => ring.get(key)?.id;
  },
  'switchyard maglev (65537)': (n) => {
    const table = new MaglevTable(createSnapshot('bench', fleet(n), 1).instances, 65_537);
    return (key) => table.members[table.ownerAt(murmurSlot(key))]?.id;
  },
  'hashring (ketama, 160 points)': (n) => {
    const ring = new KetamaRing(fleet(n).map((instance) => instance.id));
    return (key) => ring.get(key);
  },
  'consistent-hash (40 points)': (n) => {
    // Its points are random per add(): grow one ring, as a user would, instead of rebuilding.
    const ring = growingChash.get(n) ?? growingChash.set(n, newChash(n)).get(n)!;
    return (key) => ring.get(key) ?? undefined;
  },
};

const growingChash = new Map<number, ConsistentHash>();
function newChash(n: number): ConsistentHash {
  const previous = growingChash.get(n - 1);
  if (previous) return previous.add(serverName(n - 1));
  const ring = new ConsistentHash();
  for (const instance of fleet(n)) ring.add(instance.id);
  return ring;
}

const murmurSlot = (key: string) => murmur3(key) % 65_537;

function remaps(): { text: string; results: Map<string, { moved: number; ideal: number; toNew: number }[]> } {
  const results = new Map<string, { moved: number; ideal: number; toNew: number }[]>();
  const rows = Object.entries(remapOf).map(([name, lookuper]) => {
    const cells = [10, 100].map((n) => {
      const before = lookuper(n);
      const owners = keys.slice(0, REMAP_KEYS).map((key) => before(key));
      const after = lookuper(n + 1);
      const newcomer = serverName(n);
      let moved = 0;
      let toNew = 0;
      keys.slice(0, REMAP_KEYS).forEach((key, i) => {
        const now = after(key);
        if (now !== owners[i]) {
          moved++;
          if (now === newcomer) toNew++;
        }
      });
      return { moved: moved / REMAP_KEYS, ideal: 1 / (n + 1), toNew: moved === 0 ? 1 : toNew / moved };
    });
    results.set(name, cells);
    return [
      name,
      ...cells.flatMap((c) => [
        `${f(c.moved * 100, 2)}%`,
        `${f(c.ideal * 100, 2)}%`,
        `${f(c.toNew * 100, 1)}%`,
      ]),
    ];
  });
  const text = table(
    [
      'keys remapped, one instance added',
      '10→11 moved',
      'ideal',
      'to newcomer',
      '100→101 moved',
      'ideal',
      'to newcomer',
    ],
    rows,
  );
  return { text, results };
}

/** Runs every measurement and prints the tables and the targets. */
export async function main(): Promise<void> {
  const started = Date.now();
  console.log(
    `# Switchyard balancers benchmark (Node ${process.version}, ${process.platform}/${process.arch})\n`,
  );
  console.log(
    `Times are CPU time of this process (median of runs); load average at start ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' / ')} on ${availableParallelism()} cores.\n`,
  );
  if (process.argv.includes('picks')) {
    const figures = await loadAwarePicks();
    console.log(`${loadAwareTable(figures)}\n`);
    console.log(`${table(['target', 'measured', ''], loadAwareTargets(figures))}\n`);
    console.log(`(load average now ${loadavg()[0]!.toFixed(1)})`);
    return;
  }
  // Allocation first, while every call site is still fresh.
  console.log('## Allocation per pick\n');
  console.log(`${await allocations()}\n`);
  if (process.env.BENCH_ONLY === 'alloc') return;
  console.log('## Pick cost per strategy\n');
  console.log(`${pickCosts()}\n`);
  console.log('## Load-aware picks, interleaved rounds\n');
  const loadAware = await loadAwarePicks();
  console.log(`${loadAwareTable(loadAware)}\n`);
  console.log('## Ring lookups, 1,000,000 distinct keys (hashring: 200,000)\n');
  const lookups = ringLookups();
  console.log(`${lookups.text}\n`);
  console.log('## Ring build and heap, 1000 instances\n');
  const builds = buildsAndHeap();
  console.log(`${builds.text}\n`);
  console.log('## Load spread\n');
  const spreadResult = spreads();
  console.log(`${spreadResult.text}\n`);
  console.log(`## Remap on adding one instance (${REMAP_KEYS.toLocaleString('en')} keys)\n`);
  const remapResult = remaps();
  console.log(`${remapResult.text}\n`);

  const ring100 = spreadResult.at100.get('switchyard ring (160 vnodes)')!;
  const bounded100 = spreadResult.at100.get('switchyard bounded loads (c=1.25)')!;
  const maglev100 = spreadResult.at100.get('switchyard maglev (65537)')!;
  const ringRemap = remapResult.results.get('switchyard ring (160 vnodes)')!;
  const check = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log('## Targets\n');
  console.log(
    table(
      ['target', 'measured', ''],
      [
        [
          'ring lookup ≤ 150 ns at 1000 inst.',
          `${f(lookups.at1000.ours, 1)} ns`,
          check(lookups.at1000.ours <= 150),
        ],
        [
          'ring lookup ≥ 15× hashring at 1000',
          ratio(lookups.at1000.ketama, lookups.at1000.ours),
          check(lookups.at1000.ketama / lookups.at1000.ours >= 15),
        ],
        ['ring build ≤ 20 ms (1000 × 160)', `${f(builds.oursMs, 2)} ms`, check(builds.oursMs <= 20)],
        ['ring heap ≤ 3 MiB (1000 inst.)', `${f(builds.oursMiB, 2)} MiB`, check(builds.oursMiB <= 3)],
        ['ring max/mean ≤ 1.26 at 100', f(ring100.maxOverMean, 3), check(ring100.maxOverMean <= 1.26)],
        ['ring CV ≤ 0.085 at 100', f(ring100.cv, 4), check(ring100.cv <= 0.085)],
        [
          'bounded (1.25) max/mean ≤ 1.25',
          f(bounded100.maxOverMean, 4),
          check(bounded100.maxOverMean <= 1.25),
        ],
        ['maglev max/mean ≤ 1.05 at 100', f(maglev100.maxOverMean, 3), check(maglev100.maxOverMean <= 1.05)],
        ...['roundRobin', 'weightedRoundRobin (w 1–3)', 'powerOfTwoChoices', 'leastConnections'].map(
          (name) => [
            `${name} pick ≤ 100 ns at 100, no allocation`,
            `${f(pickAt100.get(name)!, 1)} ns, ${allocating.has(name) ? 'allocates' : 'none'}`,
            check(pickAt100.get(name)! <= 100 && !allocating.has(name)),
          ],
        ),
        ...loadAwareTargets(loadAware),
        ...ringRemap.map((c, i) => [
          `ring remap within 10% of 1/(n+1), n=${i === 0 ? 10 : 100}`,
          `${f(c.moved * 100, 2)}% vs ${f(c.ideal * 100, 2)}%, ${f(c.toNew * 100, 1)}% to newcomer`,
          check(Math.abs(c.moved - c.ideal) <= 0.1 * c.ideal && c.toNew === 1),
        ]),
      ],
    ),
  );
  console.log(
    `\nCalibration: hashring took ${f(lookups.at1000.ketama / 1000, 2)} µs/lookup and ${f(builds.ketamaMs, 0)} ms/build ` +
      'at 1000 instances here; the issue measured 2.6–3.9 µs and 148 ms for it on a quiet machine.',
  );
  console.log(
    `(total ${((Date.now() - started) / 1000).toFixed(1)} s, load average now ${loadavg()[0]!.toFixed(1)})`,
  );
  sink.value = undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
