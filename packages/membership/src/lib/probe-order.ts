/**
 * SWIM's probe target selection: a random permutation walked round-robin and reshuffled at the
 * end of each round, so every member is probed once per round (bounded detection time) in an
 * order no one can predict (no synchronised probing). A new member goes to a random place among
 * those not yet probed this round. Adding and removing are O(1), so that merging a large state
 * stays linear: removed members are skipped, and dropped from the array at the next reshuffle.
 *
 * @example
 * const order = new ProbeOrder();
 * order.add('b'); order.add('c');
 * const target = order.next((id) => isProbeable(id));
 */
export class ProbeOrder {
  readonly #random: () => number;
  #ids: string[] = [];
  /** Members in the order (a subset of #ids; the rest are removed ones awaiting the reshuffle). */
  readonly #members = new Set<string>();
  /** Removed since the last reshuffle, still in #ids. */
  readonly #stale = new Set<string>();
  #index = 0;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  get size(): number {
    return this.#members.size;
  }

  add(id: string): void {
    if (this.#members.has(id)) return;
    this.#members.add(id);
    // Still in the array since its removal: it keeps its place.
    if (this.#stale.delete(id)) return;
    const ids = this.#ids;
    ids.push(id);
    const at = this.#index + Math.floor(this.#random() * (ids.length - this.#index));
    [ids[at], ids[ids.length - 1]] = [ids[ids.length - 1]!, ids[at]!];
  }

  remove(id: string): void {
    if (this.#members.delete(id)) this.#stale.add(id);
  }

  /** The next id that passes `accept`, or undefined after a full fruitless round. */
  next(accept: (id: string) => boolean = () => true): string | undefined {
    for (let tried = 0; tried < this.#ids.length; tried++) {
      if (this.#index >= this.#ids.length) this.#reshuffle();
      const id = this.#ids[this.#index++];
      if (id !== undefined && this.#members.has(id) && accept(id)) return id;
    }
    return undefined;
  }

  #reshuffle(): void {
    const ids = this.#ids.filter((id) => this.#members.has(id));
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    this.#ids = ids;
    this.#stale.clear();
    this.#index = 0;
  }
}
