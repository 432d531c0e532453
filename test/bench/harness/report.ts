import { writeFileSync } from 'node:fs';
import { describeLoad, describeMachine, loadAverage } from './machine.ts';
import { median, sameRoundRatio } from './stats.ts';

/** One figure: Switchyard's value per round, and the peer's measured in the same rounds. */
export interface Figure {
  readonly figure: string;
  readonly unit: string;
  readonly ours: string;
  readonly oursRounds: readonly number[];
  readonly peer?: string;
  readonly peerRounds?: readonly number[];
}

export interface FigureResult extends Figure {
  readonly oursMedian: number;
  readonly peerMedian?: number;
  /** Median over rounds of ours ÷ peer (same round); absent when the peer's figure is 0. */
  readonly ratio?: number;
}

export interface BenchJson {
  readonly bench: string;
  readonly node: string;
  readonly startedAt: string;
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
  readonly figures: readonly FigureResult[];
  readonly notes: readonly string[];
}

/** Formats a number with 3 significant digits at most, no exponent. */
export function fmt(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Renders a Markdown table, the first column left-aligned and the others right-aligned. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, c) =>
    Math.max(header.length, ...rows.map((row) => (row[c] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${widths.map((width, c) => (c === 0 ? (cells[c] ?? '').padEnd(width) : (cells[c] ?? '').padStart(width))).join(' | ')} |`;
  const rule = `|${widths.map((width, c) => (c === 0 ? `-${'-'.repeat(width)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

function ratioOf(ours: readonly number[], peer: readonly number[]): { ratio?: number } {
  const ratio = sameRoundRatio(ours, peer);
  return Number.isFinite(ratio) ? { ratio } : {};
}

/**
 * Collects a bench's figures, prints them with medians and same-round ratios, and writes them
 * as JSON to the file named by BENCH_JSON when `pnpm bench --json` runs the bench.
 */
export class BenchReport {
  readonly #bench: string;
  readonly #startedAt = new Date().toISOString();
  readonly #loadStart = loadAverage();
  readonly #figures: FigureResult[] = [];
  readonly #notes: string[] = [];

  constructor(bench: string) {
    this.#bench = bench;
    console.log(`${bench}: ${describeMachine()}; load average at start ${this.#loadStart.join(' / ')}`);
  }

  add(figure: Figure): FigureResult {
    const result: FigureResult = {
      ...figure,
      oursMedian: median(figure.oursRounds),
      ...(figure.peerRounds
        ? {
            peerMedian: median(figure.peerRounds),
            ...ratioOf(figure.oursRounds, figure.peerRounds),
          }
        : {}),
    };
    this.#figures.push(result);
    return result;
  }

  note(text: string): void {
    this.#notes.push(text);
  }

  /** Prints the figures added since the last call as one table. */
  print(caption: string, from = 0): void {
    const rows = this.#figures
      .slice(from)
      .map((f) => [
        f.figure,
        f.ours,
        `${fmt(f.oursMedian)} ${f.unit}`,
        f.peer ?? '',
        f.peerMedian === undefined ? '' : `${fmt(f.peerMedian)} ${f.unit}`,
        f.ratio !== undefined ? `${f.ratio.toFixed(2)}×` : f.peerMedian !== undefined ? 'n/a (peer 0)' : '',
        String(f.oursRounds.length),
      ]);
    console.log(`\n${caption}\n`);
    console.log(
      markdownTable(
        ['figure', 'switchyard', 'median', 'peer', 'peer median', 'ratio (same round)', 'rounds'],
        rows,
      ),
    );
  }

  get size(): number {
    return this.#figures.length;
  }

  finish(): BenchJson {
    const loadEnd = loadAverage();
    console.log(`\n${this.#bench}: ${describeLoad(this.#loadStart, loadEnd)}`);
    const json: BenchJson = {
      bench: this.#bench,
      node: process.version,
      startedAt: this.#startedAt,
      loadStart: this.#loadStart,
      loadEnd,
      figures: this.#figures,
      notes: this.#notes,
    };
    const out = process.env.BENCH_JSON;
    if (out) writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
    return json;
  }
}
