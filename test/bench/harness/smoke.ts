/**
 * `pnpm bench --smoke` runs every bench at toy sizes, to prove that each still runs end to end
 * on built JavaScript (CI does, every run). Its figures mean nothing: too few requests and
 * rounds to measure anything.
 */
export const SMOKE: boolean = process.env.BENCH_SMOKE === '1';

/** `full`, or `small` in a smoke run. */
export function sized<T>(full: T, small: T): T {
  return SMOKE ? small : full;
}
