/**
 * SWIM's probe target selection: a random permutation walked round-robin and reshuffled at the
 * end of each round, so every member is probed once per round (bounded detection time) in an
 * order no one can predict (no synchronised probing). New members are inserted at a random place.
 *
 * @example
 * const order = new ProbeOrder();
 * order.add('b'); order.add('c');
 * const target = order.next((id) => isProbeable(id));
 */
export class ProbeOrder {
  readonly #random: () => number;
  #ids: string[] = [];
  #index = 0;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  get size(): number {
    return this.#ids.length;
  }

  add(id: string): void {
    if (this.#ids.includes(id)) return;
    const at = Math.floor(this.#random() * (this.#ids.length + 1));
    this.#ids.splice(at, 0, id);
    if (at < this.#index) this.#index++;
  }

  remove(id: string): void {
    const at = this.#ids.indexOf(id);
    if (at < 0) return;
    this.#ids.splice(at, 1);
    if (at < this.#index) this.#index--;
  }

  /** The next id that passes `accept`, or undefined after a full fruitless round. */
  next(accept: (id: string) => boolean = () => true): string | undefined {
    for (let tried = 0; tried < this.#ids.length; tried++) {
      if (this.#index >= this.#ids.length) this.#reshuffle();
      const id = this.#ids[this.#index++]!;
      if (accept(id)) return id;
    }
    return undefined;
  }

  #reshuffle(): void {
    const ids = this.#ids;
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    this.#index = 0;
  }
}
