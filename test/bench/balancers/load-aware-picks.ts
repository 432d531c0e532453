import { type Balancer, leastConnections, peakEwma, powerOfTwoChoices } from '@switchyard/balancers';
import { sized } from '../harness/smoke.ts';
import { sameRoundRatio } from '../harness/stats.ts';
import { loadedPicker } from './fleet.ts';
import { allocation, interleavedNsPerOp, median, pickOp, table } from './measure.ts';

export interface LoadAwareFigures {
  /** Heap growth per pick and scavenges over 1,000,000 picks at 100 instances. */
  readonly bytesPerOp: number;
  readonly scavenges: number;
  /** At each of LOAD_AWARE_SIZES: ns per pick by round. */
  readonly rounds: number[][];
}

const LOAD_AWARE: readonly (readonly [string, () => Balancer])[] = [
  ['leastConnections', leastConnections],
  ['powerOfTwoChoices', powerOfTwoChoices],
  ['peakEwma', () => peakEwma()],
];
const LOAD_AWARE_SIZES = [100, 1_000, 10_000];
/** The same-round reference: the plainest load-aware pick. */
const REFERENCE = 'powerOfTwoChoices';
const LOAD_AWARE_ROUNDS = sized(9, 1);

const f = (value: number, digits: number) => value.toFixed(digits);

/**
 * The load-aware picks: allocation per pick at 100 instances, then ns per pick at 100, 1,000 and
 * 10,000 instances, every strategy and size timed once per round in interleaved rounds, so that
 * a same-round ratio compares two figures taken on the same machine. By strategy name.
 */
export async function loadAwarePicks(): Promise<Map<string, LoadAwareFigures>> {
  const figures = new Map<string, LoadAwareFigures>();
  for (const [name, make] of LOAD_AWARE) {
    const { bytesPerOp, scavenges } = await allocation(pickOp(loadedPicker(make(), 100)), 1e6);
    figures.set(name, { bytesPerOp, scavenges, rounds: [] });
  }
  const cells = LOAD_AWARE.flatMap(([name, make]) => LOAD_AWARE_SIZES.map((n) => ({ name, make, n })));
  const samples = await interleavedNsPerOp(
    cells.map(({ make, n }) => pickOp(loadedPicker(make(), n))),
    300_000,
    LOAD_AWARE_ROUNDS,
  );
  cells.forEach(({ name }, k) => {
    figures.get(name)!.rounds.push(samples[k]!);
  });
  return figures;
}

/** Median ns per pick of `name` at each size. */
const loadAwareMedians = (figures: Map<string, LoadAwareFigures>, name: string) =>
  figures.get(name)!.rounds.map((rounds) => median(rounds));

/** The figures as a Markdown table: medians, fastest rounds, same-round ratios, allocation. */
export function loadAwareTable(figures: Map<string, LoadAwareFigures>): string {
  const reference = figures.get(REFERENCE)!;
  const sizes = LOAD_AWARE_SIZES.map((n) => n.toLocaleString('en'));
  return table(
    [
      `load-aware pick: ns/op, median of ${LOAD_AWARE_ROUNDS} interleaved rounds (fastest round)`,
      ...sizes.map((n) => `${n} inst.`),
      `× ${REFERENCE}, same round (${sizes.join(' / ')})`,
      'bytes/pick (100)',
      'scavenges',
    ],
    [...figures].map(([name, { bytesPerOp, scavenges, rounds }]) => [
      name,
      ...rounds.map((samples) => `${f(median(samples), 1)} (${f(Math.min(...samples), 1)})`),
      rounds.map((samples, i) => f(sameRoundRatio(samples, reference.rounds[i]!), 2)).join(' / '),
      f(bytesPerOp, 3),
      String(scavenges),
    ]),
  );
}

/** The targets for the load-aware picks, on the medians of the interleaved rounds. */
export function loadAwareTargets(figures: Map<string, LoadAwareFigures>): string[][] {
  const check = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const quiet = (name: string) => {
    const { bytesPerOp, scavenges } = figures.get(name)!;
    return scavenges === 0 && bytesPerOp < 0.5;
  };
  const rows = ['powerOfTwoChoices', 'peakEwma'].map((name) => {
    const worst = Math.max(...loadAwareMedians(figures, name));
    return [
      `${name} pick ≤ 40 ns at 100–10,000, no allocation`,
      `≤ ${f(worst, 1)} ns, ${quiet(name) ? 'none' : 'allocates'}`,
      check(worst <= 40 && quiet(name)),
    ];
  });
  const least = loadAwareMedians(figures, 'leastConnections').at(-1)!;
  rows.push(['leastConnections pick ≤ 150 ns at 10,000', `${f(least, 1)} ns`, check(least <= 150)]);
  return rows;
}
