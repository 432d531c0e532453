/**
 * Random numbers for picks: xorshift32 with its state in an Int32Array. `Math.random()` hands
 * back a boxed double (16 bytes of garbage per pick); this stays in integer registers, so the
 * random strategies allocate nothing. Not for anything secret.
 */
const state = new Int32Array(1);
state[0] = (Math.random() * 0x7fff_ffff) | 1;

/**
 * Restarts the sequence from `seed`, so that tests of statistical behaviour are repeatable
 * (not exported from the package entry).
 */
export function seedRandom(seed: number): void {
  state[0] = seed | 1;
}

/**
 * The next state, as a signed 32-bit integer: a small integer to V8 even where a call is not
 * inlined, where an unsigned value of 2³¹ or more would be boxed in a 16-byte heap number.
 */
function next(): number {
  let x = state[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[0] = x;
  return x;
}

/** A uniform integer in [0, n), for n < 2³¹. */
export function randomIndex(n: number): number {
  return (((next() >>> 0) / 4_294_967_296) * n) | 0;
}

/** A uniform number in [0, 1). */
export function randomFraction(): number {
  return (next() >>> 0) / 4_294_967_296;
}
