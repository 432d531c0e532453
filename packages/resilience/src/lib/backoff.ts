import {
  ExponentialBackoff,
  type GeneratorFn,
  type IBackoff,
  type IExponentialBackoffOptions,
} from 'cockatiel';

/** How retry delays spread out (AWS's "Exponential backoff and jitter" names). */
export type JitterMode = 'full' | 'equal' | 'none';

export interface BackoffOptions {
  /** First delay before jitter, ms. Default 100. */
  readonly initialMs?: number;
  /** Cap on any delay (and on a server's `Retry-After`), ms. Default 10 000. */
  readonly maxMs?: number;
  /** Growth per retry. Default 2. */
  readonly multiplier?: number;
  /** `true` = `'full'`, `false` = `'none'`. Default `'full'`. */
  readonly jitter?: JitterMode | boolean;
}

/** Backoff options with every default applied. */
export interface ResolvedBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly jitter: JitterMode;
}

export const DEFAULT_BACKOFF: ResolvedBackoff = Object.freeze({
  initialMs: 100,
  maxMs: 10_000,
  multiplier: 2,
  jitter: 'full',
});

/** Delays between retries: a sequence of cockatiel backoffs, `next()` once per retry. */
export interface BackoffSequence {
  /** The delay before the next retry, ms. */
  next(): number;
}

/**
 * Exponential backoff on cockatiel's `ExponentialBackoff`, with generators that honour
 * `multiplier` (cockatiel's own no/full/half jitter generators always double).
 *
 * @example
 * const delays = createBackoff({ initialMs: 50, maxMs: 1000, jitter: 'none' });
 * delays.next(); // 50, then 100, 200, 400, 800, 1000, 1000…
 */
export function createBackoff(options: ResolvedBackoff, random: () => number = Math.random): BackoffSequence {
  const factory = new ExponentialBackoff<number>({
    generator: generatorFor(options.jitter, random),
    initialDelay: options.initialMs,
    maxDelay: options.maxMs,
    exponent: options.multiplier,
  });
  let current: IBackoff<unknown> | undefined;
  return {
    next(): number {
      current = current ? current.next(undefined) : factory.next();
      return current.duration;
    },
  };
}

/** Normalises `jitter: boolean | mode` to a mode. */
export function jitterMode(jitter: JitterMode | boolean | undefined): JitterMode {
  if (jitter === undefined || jitter === true) return 'full';
  if (jitter === false) return 'none';
  return jitter;
}

function generatorFor(mode: JitterMode, random: () => number): GeneratorFn<number> {
  const plain = (attempts: number | undefined, o: IExponentialBackoffOptions<number>): [number, number] => {
    const n = attempts ?? 0;
    return [Math.min(o.maxDelay, o.initialDelay * o.exponent ** n), n + 1];
  };
  switch (mode) {
    case 'none':
      return plain;
    case 'full':
      // Anywhere in [0, delay): spreads a thundering herd the most.
      return (attempts, o) => {
        const [delay, next] = plain(attempts, o);
        return [Math.floor(random() * delay), next];
      };
    case 'equal':
      // Half fixed, half random: never retries sooner than delay / 2.
      return (attempts, o) => {
        const [delay, next] = plain(attempts, o);
        return [Math.floor(delay / 2 + (random() * delay) / 2), next];
      };
  }
}
