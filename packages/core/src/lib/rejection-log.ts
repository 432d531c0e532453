/**
 * Which bad entries of each service were reported already, so that `invalidInstance` fires
 * once per distinct bad entry: not on every poll, and not once for `resolve` and again for
 * `watch`. An entry that is fixed and later breaks again is reported again. Bounded: at most
 * `maxServices` services are remembered (least recently updated forgotten first), and each
 * holds only the bad entries of its latest answer.
 */
export class RejectionLog {
  readonly #byService = new Map<string, Map<string, string>>();

  constructor(readonly maxServices = 1024) {}

  /**
   * Records the bad entries of a full answer for `service` and returns those not reported
   * before (same key and reason); entries no longer in the answer are forgotten.
   */
  replace<T extends { readonly reason: string }>(
    service: string,
    rejected: readonly T[],
    keyOf: (entry: T) => string,
  ): T[] {
    const previous = this.#byService.get(service);
    const next = new Map<string, string>();
    const fresh: T[] = [];
    for (const entry of rejected) {
      const key = keyOf(entry);
      if (previous?.get(key) !== entry.reason && next.get(key) !== entry.reason) fresh.push(entry);
      next.set(key, entry.reason);
    }
    this.#byService.delete(service);
    if (next.size > 0) this.#remember(service, next);
    return fresh;
  }

  #remember(service: string, entries: Map<string, string>): void {
    this.#byService.delete(service);
    this.#byService.set(service, entries);
    if (this.#byService.size > this.maxServices) {
      const oldest = this.#byService.keys().next().value;
      if (oldest !== undefined) this.#byService.delete(oldest);
    }
  }

  /** Records one bad entry seen on its own (a watch event); true when it was not reported yet. */
  note(service: string, key: string, reason: string): boolean {
    const known = this.#byService.get(service);
    if (known?.get(key) === reason) return false;
    const next = known ?? new Map<string, string>();
    next.set(key, reason);
    if (!known) this.#remember(service, next);
    return true;
  }

  /** The entry is good again (or gone): a later failure is news. */
  forget(service: string, key: string): void {
    const known = this.#byService.get(service);
    known?.delete(key);
    if (known?.size === 0) this.#byService.delete(service);
  }

  clear(): void {
    this.#byService.clear();
  }
}
