import { cpus, loadavg } from 'node:os';

/** The machine's load average (1, 5, 15 min), rounded to two decimals. */
export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = loadavg().map((value) => Math.round(value * 100) / 100);
  return [one!, five!, fifteen!];
}

/** One line that says what the figures were measured on and how busy it was. */
export function describeMachine(): string {
  const cores = cpus();
  return `Node ${process.version}, ${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown CPU'})`;
}

export function describeLoad(start: readonly number[], end: readonly number[]): string {
  return `load average (1/5/15 min) at start ${start.join(' / ')}, at end ${end.join(' / ')}`;
}
