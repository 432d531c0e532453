/**
 * Puts the figures of several `pnpm bench --json` files side by side, one Markdown row per
 * figure: Switchyard's median, the peer's and the same-round ratio of each run.
 *
 *   node test/bench/compare-runs.mjs run1.json run2.json run3.json
 */
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node test/bench/compare-runs.mjs <bench.json>…');
  process.exit(2);
}
const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')));
const rows = new Map();
for (const [r, run] of runs.entries()) {
  for (const bench of run.benches) {
    for (const figure of bench.figures ?? []) {
      const key = [bench.bench, figure.figure, figure.ours, figure.peer ?? ''].join('\u0000');
      if (!rows.has(key)) rows.set(key, { figure, byRun: [] });
      rows.get(key).byRun[r] = figure;
    }
  }
}
const num = (v) =>
  v === undefined || v === null
    ? '–'
    : Math.abs(v) >= 100
      ? v.toFixed(0)
      : Math.abs(v) >= 10
        ? v.toFixed(1)
        : v.toFixed(2);
const each = (byRun, pick) => runs.map((_, r) => num(byRun[r] && pick(byRun[r]))).join(' / ');
console.log(`| figure | switchyard | median per run | peer | median per run | ratio per run |`);
console.log('|---|---|---:|---|---:|---:|');
for (const { figure, byRun } of rows.values()) {
  console.log(
    `| ${figure.figure} | ${figure.ours} | ${each(byRun, (f) => f.oursMedian)} ${figure.unit} | ${figure.peer ?? ''} | ` +
      `${figure.peer ? each(byRun, (f) => f.peerMedian) : ''} | ${figure.peer ? each(byRun, (f) => f.ratio) : ''} |`,
  );
}
for (const [r, run] of runs.entries()) {
  for (const bench of run.benches) {
    console.log(
      `run ${r + 1} ${bench.bench}: ${bench.status === 0 ? 'ok' : `failed (${bench.status})`}, ${bench.seconds} s, ` +
        `load ${bench.loadStart?.join('/')} → ${bench.loadEnd?.join('/')}`,
    );
  }
}
