/** What active checks know about an instance. `unknown` until its first check decides. */
export type HealthState = 'healthy' | 'unhealthy' | 'unknown';

/**
 * The threshold state machine of one checked instance (Envoy's): `healthyThreshold`
 * successes in a row make it healthy, `unhealthyThreshold` failures in a row unhealthy, so a
 * single lost probe never makes it flap. An unknown instance turns healthy on its first
 * success, as Envoy does at startup, but needs the full run of failures to turn unhealthy.
 *
 * @example
 * const tally = new HealthTally(2, 3);
 * tally.success(); // → 'unknown' (the state before: it just became healthy)
 */
export class HealthTally {
  state: HealthState = 'unknown';
  #successes = 0;
  #failures = 0;
  readonly #healthyThreshold: number;
  readonly #unhealthyThreshold: number;

  constructor(healthyThreshold: number, unhealthyThreshold: number) {
    this.#healthyThreshold = healthyThreshold;
    this.#unhealthyThreshold = unhealthyThreshold;
  }

  /** Records a passed check. Returns the previous state when the state changed, else undefined. */
  success(): HealthState | undefined {
    this.#failures = 0;
    this.#successes++;
    const previous = this.state;
    if (previous === 'healthy') return undefined;
    if (previous === 'unknown' || this.#successes >= this.#healthyThreshold) {
      this.state = 'healthy';
      return previous;
    }
    return undefined;
  }

  /** Records a failed check. Returns the previous state when the state changed, else undefined. */
  failure(): HealthState | undefined {
    this.#successes = 0;
    this.#failures++;
    const previous = this.state;
    if (previous === 'unhealthy' || this.#failures < this.#unhealthyThreshold) return undefined;
    this.state = 'unhealthy';
    return previous;
  }
}
