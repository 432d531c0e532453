/**
 * SWIM / Lifeguard simulation and loopback benchmark for @switchyard/membership.
 *
 *   npx -y pnpm@10.34.8 bench membership-bench
 *
 * Part 1 runs whole clusters on the in-memory network with one manual clock (deterministic,
 * seeded, faster than real time): failure detection and dissemination times in protocol
 * periods, false suspicions and false failures under injected packet loss with and without the
 * Lifeguard parts, and bytes sent per node per second. Part 2 repeats the detection run with
 * real UDP/TCP sockets on 127.0.0.1.
 */
import { pathToFileURL } from 'node:url';
import { formatAddress, Membership, type MembershipOptions, SimulatedCluster } from '@switchyard/membership';
import { sized } from '../harness/smoke.ts';

const PERIOD = 1_000;
// memberlist's LAN defaults, scaled to a one-second protocol period.
const LAN = {
  probeIntervalMs: PERIOD,
  probeTimeoutMs: 500,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  suspicionMult: 4,
  retransmitMult: 4,
  pushPullIntervalMs: 30_000,
  reapDelayMs: 60_000,
} satisfies Partial<MembershipOptions>;

interface Detection {
  /** Periods from the crash until some member first suspects the node. */
  firstSuspect: number;
  /** …until the first member declares it failed. */
  firstFailed: number;
  /** …until every member has declared it failed (detection + dissemination). */
  allFailed: number;
}

async function simulatedDetection(size: number, seed: number): Promise<Detection> {
  const sim = await SimulatedCluster.start({ size, seed, stepMs: 10, node: LAN });
  try {
    await sim.runUntil(() => sim.converged(), 60 * PERIOD);
    await sim.run(10 * PERIOD); // let the join news drain from the broadcast queues
    const victim = sim.nodes[size - 1]!;
    const observers = sim.nodes.slice(0, size - 1);
    const t0 = sim.clock.now();
    let firstSuspect = Number.NaN;
    const failedAt: number[] = [];
    for (const node of observers) {
      node.on('suspect', ({ member }) => {
        if (member.id === victim.localMember().id && Number.isNaN(firstSuspect))
          firstSuspect = sim.clock.now();
      });
      node.on('failed', ({ member }) => {
        if (member.id === victim.localMember().id) failedAt.push(sim.clock.now());
      });
    }
    await victim.close();
    await sim.runUntil(() => failedAt.length === observers.length, 200 * PERIOD);
    if (failedAt.length !== observers.length) throw new Error(`n=${size} seed=${seed}: detection incomplete`);
    return {
      firstSuspect: (firstSuspect - t0) / PERIOD,
      firstFailed: (Math.min(...failedAt) - t0) / PERIOD,
      allFailed: (Math.max(...failedAt) - t0) / PERIOD,
    };
  } finally {
    await sim.close();
  }
}

interface LossRun {
  /** Distinct suspicions (member@incarnation), however many nodes heard of each. */
  suspicions: number;
  falseFailures: number;
  refutations: number;
  bytesPerNodePerSec: number;
  msgsPerNodePerSec: number;
}

/** A healthy cluster under random packet loss: every suspicion and failure is a false one. */
async function lossRun(size: number, lossRate: number, lifeguard: boolean, seed: number, periods: number) {
  const sim = await SimulatedCluster.start({ size, seed, stepMs: 20, node: { ...LAN, lifeguard } });
  try {
    await sim.runUntil(() => sim.converged(), 60 * PERIOD);
    await sim.run(10 * PERIOD);
    const episodes = new Set<string>();
    const failures = new Set<string>();
    const refuted = new Set<string>();
    for (const node of sim.nodes) {
      node.on('suspect', ({ member }) => episodes.add(`${member.id}@${member.incarnation}`));
      node.on('failed', ({ member }) => failures.add(`${member.id}@${member.incarnation}`));
      node.on('recovered', ({ previous }) => refuted.add(`${previous?.id}@${previous?.incarnation}`));
    }
    const sent = (field: 'bytesSent' | 'messagesSent') =>
      sim.nodes.reduce((sum, node) => sum + node.stats()[field], 0);
    const bytes0 = sent('bytesSent');
    const msgs0 = sent('messagesSent');
    sim.network.lossRate = lossRate;
    await sim.run(periods * PERIOD);
    const seconds = (periods * PERIOD) / 1000;
    return {
      suspicions: episodes.size,
      falseFailures: failures.size,
      refutations: refuted.size,
      bytesPerNodePerSec: (sent('bytesSent') - bytes0) / size / seconds,
      msgsPerNodePerSec: (sent('messagesSent') - msgs0) / size / seconds,
    } satisfies LossRun;
  } finally {
    await sim.close();
  }
}

interface DegradedRun {
  /** Distinct suspicions of healthy members (they are all false). */
  healthySuspicions: number;
  healthyFailures: number;
  /** The slow member is alive too: suspicions and failures of it are false as well. */
  slowSuspicions: number;
  slowFailures: number;
  slowHealthMax: number;
}

/** One member's datagrams are delayed past the probe timeout: a node starved of CPU. */
async function degradedRun(size: number, lifeguard: boolean, slowMs: number, seed: number, periods: number) {
  const sim = await SimulatedCluster.start({ size, seed, stepMs: 20, node: { ...LAN, lifeguard } });
  try {
    await sim.runUntil(() => sim.converged(), 60 * PERIOD);
    await sim.run(10 * PERIOD);
    const slow = sim.nodes[0]!;
    const slowId = slow.localMember().id;
    const suspicions = new Set<string>();
    const failures = new Set<string>();
    for (const node of sim.nodes) {
      node.on('suspect', ({ member }) => suspicions.add(`${member.id}@${member.incarnation}`));
      node.on('failed', ({ member }) => failures.add(`${member.id}@${member.incarnation}`));
    }
    sim.slow(slow, slowMs);
    let slowHealthMax = 0;
    const end = sim.clock.now() + periods * PERIOD;
    await sim.runUntil(
      () => {
        slowHealthMax = Math.max(slowHealthMax, slow.localHealth());
        return sim.clock.now() >= end;
      },
      periods * PERIOD + PERIOD,
    );
    const of = (set: Set<string>, mine: boolean) =>
      [...set].filter((key) => key.startsWith(`${slowId}@`) === mine).length;
    return {
      healthySuspicions: of(suspicions, false),
      healthyFailures: of(failures, false),
      slowSuspicions: of(suspicions, true),
      slowFailures: of(failures, true),
      slowHealthMax,
    } satisfies DegradedRun;
  } finally {
    await sim.close();
  }
}

/** The same crash on real sockets: wall-clock times, expressed in protocol periods. */
async function socketDetection(
  size: number,
  period: number,
): Promise<Detection & { bytesPerNodePerSec: number }> {
  const options = {
    probeIntervalMs: period,
    probeTimeoutMs: period / 2,
    gossipIntervalMs: period / 5,
    suspicionMult: 4,
    pushPullIntervalMs: 30 * period,
    reapDelayMs: 60 * period,
  };
  const nodes: Membership[] = [];
  try {
    for (let i = 0; i < size; i++) nodes.push(await Membership.create({ name: `real-${i}`, ...options }));
    const seed = formatAddress(nodes[0]!.address);
    await Promise.all(nodes.slice(1).map((node) => node.join([seed])));
    await until(
      () => nodes.every((n) => n.members().filter((m) => m.state === 'alive').length === size),
      60 * period,
    );
    await new Promise((resolve) => setTimeout(resolve, 10 * period));
    const bytes0 = nodes.reduce((s, n) => s + n.stats().bytesSent, 0);
    const quiet0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 10 * period));
    const bytesPerNodePerSec =
      (nodes.reduce((s, n) => s + n.stats().bytesSent, 0) - bytes0) /
      size /
      ((performance.now() - quiet0) / 1000);

    const victim = nodes[size - 1]!;
    const observers = nodes.slice(0, size - 1);
    let firstSuspect = Number.NaN;
    const failedAt: number[] = [];
    for (const node of observers) {
      node.on('suspect', ({ member }) => {
        if (member.id === victim.localMember().id && Number.isNaN(firstSuspect))
          firstSuspect = performance.now();
      });
      node.on('failed', ({ member }) => {
        if (member.id === victim.localMember().id) failedAt.push(performance.now());
      });
    }
    const t0 = performance.now();
    await victim.close();
    await until(() => failedAt.length === observers.length, 200 * period);
    return {
      firstSuspect: (firstSuspect - t0) / period,
      firstFailed: (Math.min(...failedAt) - t0) / period,
      allFailed: (Math.max(...failedAt) - t0) / period,
      bytesPerNodePerSec,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
}

async function until(done: () => boolean, maxMs: number): Promise<void> {
  const start = performance.now();
  while (!done()) {
    if (performance.now() - start > maxMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const f = (x: number, digits = 1) => x.toFixed(digits);

function table(title: string, head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    `\n${title}`,
    line(head),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

export async function main(): Promise<void> {
  const started = Date.now();
  const trials = sized(5, 1);

  const detectionRows: (string | number)[][] = [];
  for (const size of [20, 50]) {
    const runs: Detection[] = [];
    for (let t = 0; t < trials; t++) runs.push(await simulatedDetection(size, 100 + t));
    const expectedMin = 4 * Math.max(1, Math.log10(size));
    detectionRows.push([
      `sim n=${size} (${trials} crashes)`,
      `${f(median(runs.map((r) => r.firstSuspect)))} / ${f(Math.max(...runs.map((r) => r.firstSuspect)))}`,
      `${f(median(runs.map((r) => r.firstFailed)))} / ${f(Math.max(...runs.map((r) => r.firstFailed)))}`,
      `${f(median(runs.map((r) => r.allFailed)))} / ${f(Math.max(...runs.map((r) => r.allFailed)))}`,
      `${f(median(runs.map((r) => r.allFailed - r.firstFailed)), 2)}`,
      `e/(e−1)≈1.58; susp. ${f(expectedMin)}–${f(6 * expectedMin)}`,
    ]);
  }
  const real = await socketDetection(20, 200);
  detectionRows.push([
    'UDP/TCP 127.0.0.1 n=20 (1 crash, 200 ms period)',
    f(real.firstSuspect),
    f(real.firstFailed),
    f(real.allFailed),
    f(real.allFailed - real.firstFailed, 2),
    'same',
  ]);
  const detectionSecs = (Date.now() - started) / 1000;
  console.log(
    table(
      'Failure detection, in protocol periods after the crash (median / max)',
      ['run', 'first suspect', 'first failed', 'all failed', 'spread (all − first)', 'SWIM expectation'],
      detectionRows,
    ),
  );

  const lossRows: (string | number)[][] = [];
  const periods = sized(300, 20);
  for (const size of [20, 50]) {
    for (const loss of [0, 0.05, 0.1]) {
      for (const lifeguard of loss === 0 ? [true] : [false, true]) {
        const r = await lossRun(size, loss, lifeguard, 7, periods);
        lossRows.push([
          size,
          `${loss * 100}%`,
          lifeguard ? 'on' : 'off',
          r.suspicions,
          r.refutations,
          r.falseFailures,
          f(r.msgsPerNodePerSec),
          f(r.bytesPerNodePerSec, 0),
        ]);
      }
    }
  }
  console.log(
    table(
      `Healthy cluster under packet loss, ${periods} periods of 1 s (every suspicion and failure is false; counts are distinct member@incarnation)`,
      ['n', 'loss', 'Lifeguard', 'suspicions', 'refuted', 'false failures', 'msgs/node/s', 'bytes/node/s'],
      lossRows,
    ),
  );
  const degradedRows: (string | number)[][] = [];
  for (const lifeguard of [false, true]) {
    const r = await degradedRun(20, lifeguard, 700, 11, 200);
    degradedRows.push([
      lifeguard ? 'on' : 'off',
      r.healthySuspicions,
      r.healthyFailures,
      r.slowSuspicions,
      r.slowFailures,
      r.slowHealthMax,
    ]);
  }
  console.log(
    table(
      'One degraded member in 20 (+700 ms on each of its datagrams, 1 s period, 200 periods); all are alive',
      [
        'Lifeguard',
        'healthy suspected',
        'healthy failed',
        'slow suspected',
        'slow failed',
        'slow node max score',
      ],
      degradedRows,
    ),
  );
  console.log(
    `\nReal sockets, n=20, 200 ms period: ${f(real.bytesPerNodePerSec, 0)} bytes/node/s ` +
      `(${f((real.bytesPerNodePerSec * 200) / 1000, 0)} bytes/node/period)`,
  );
  console.log(
    `\n(detection ${detectionSecs.toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
