/**
 * Lifeguard's local health multiplier. A node that misses acks and nacks, or has to refute
 * suspicions about itself, is more likely slow itself than surrounded by dead peers; its score
 * rises and its probe interval and timeouts stretch by `score + 1`, so it accuses others less
 * while it is unwell. Successful probes bring the score back down.
 *
 * @example
 * const health = new Awareness(8);
 * health.apply(+1); // missed a nack
 * const timeout = health.scale(500); // 1000
 */
export class Awareness {
  readonly #max: number;
  #score = 0;

  /** @param max the highest score (memberlist's AwarenessMaxMultiplier); 0 disables it. */
  constructor(max: number) {
    this.#max = Math.max(0, max);
  }

  get score(): number {
    return this.#score;
  }

  apply(delta: number): void {
    this.#score = Math.min(Math.max(this.#score + delta, 0), Math.max(0, this.#max - 1));
  }

  scale(ms: number): number {
    return ms * (this.#score + 1);
  }
}
