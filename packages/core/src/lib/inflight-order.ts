/**
 * A service's instances sorted by requests in flight, kept sorted in O(1) per start and end: the
 * slots of `LoadStats.inflightCounts` in one Int32Array, grouped into contiguous runs of equal
 * count (a run per count, lowest first). A start moves an instance from the end of its run to
 * the start of the next by one swap; an end does the reverse. So the least loaded instances are
 * always `order[0 … end(count of order[0]))`, which lets least-connections pick exactly in O(1).
 *
 * `LoadStats.inflightOrder()` creates it on first use and keeps it in step from then on; a
 * service that never asks pays nothing for it. Readers only read `order`, `size` and `end`: the
 * moves are LoadStats' to make.
 */
export class InflightOrder {
  /** Slots sorted by in-flight count, ascending, in positions [0, size). Replaced when it grows. */
  order: Int32Array;
  /** How many slots are in the order. */
  size = 0;
  /** Position of each slot in `order`. */
  #position: Int32Array;
  /** #start[c]: the first position whose count is ≥ c, for c ≤ #top + 1 (beyond: `size`). */
  #start: Int32Array;
  /** The highest count a slot may have; runs above it are empty. */
  #top = 0;

  /** Sorts `slots` (with their counts) by count: a counting sort, O(n + highest count). */
  constructor(counts: Int32Array, slots: readonly number[]) {
    let top = 0;
    for (const slot of slots) top = Math.max(top, counts[slot]!);
    this.#top = top;
    this.#start = new Int32Array(top + 2);
    for (const slot of slots) this.#start[counts[slot]! + 1]!++;
    for (let c = 1; c < top + 2; c++) this.#start[c]! += this.#start[c - 1]!;
    const next = this.#start.slice();
    this.order = new Int32Array(Math.max(slots.length, 16));
    this.#position = new Int32Array(Math.max(counts.length, 16));
    for (const slot of slots) {
      const at = next[counts[slot]!]!++;
      this.order[at] = slot;
      this.#position[slot] = at;
    }
    this.size = slots.length;
  }

  /** The position just past the run of slots whose count is `count`. */
  end(count: number): number {
    return count < this.#top ? this.#start[count + 1]! : this.size;
  }

  /** `slot`'s count went from `from` to from + 1: it moves to the start of the next run. */
  raise(slot: number, from: number): void {
    if (from >= this.#top) this.#growTop(from + 1);
    const last = this.#start[from + 1]! - 1;
    this.#swap(this.#position[slot]!, last);
    this.#start[from + 1] = last;
  }

  /** `slot`'s count went from `from` (≥ 1) to from − 1: it moves to the end of the run below. */
  lower(slot: number, from: number): void {
    const first = this.#start[from]!;
    this.#swap(this.#position[slot]!, first);
    this.#start[from] = first + 1;
    // The top run emptied: later inserts and removals walk fewer runs.
    while (this.#top > 0 && this.#start[this.#top] === this.size) this.#top--;
  }

  /** A new slot, count 0: appended, then walked down to the end of run 0. O(highest count). */
  insert(slot: number): void {
    if (slot >= this.#position.length) {
      const grown = new Int32Array(Math.max(slot + 1, this.#position.length * 2));
      grown.set(this.#position);
      this.#position = grown;
    }
    if (this.size === this.order.length) {
      const grown = new Int32Array(this.order.length * 2);
      grown.set(this.order);
      this.order = grown;
    }
    let at = this.size++;
    this.order[at] = slot;
    this.#position[slot] = at;
    for (let c = this.#top + 1; c >= 1; c--) {
      const first = this.#start[c]!;
      this.#swap(at, first);
      this.#start[c] = first + 1;
      at = first;
    }
  }

  /** Takes out a slot whose count is 0: walked up past every run, then dropped. O(highest count). */
  remove(slot: number): void {
    let at = this.#position[slot]!;
    for (let c = 1; c <= this.#top + 1; c++) {
      const last = this.#start[c]! - 1;
      this.#swap(at, last);
      this.#start[c] = last;
      at = last;
    }
    this.size--;
    while (this.#top > 0 && this.#start[this.#top] === this.size) this.#top--;
  }

  #growTop(top: number): void {
    if (top + 2 > this.#start.length) {
      const grown = new Int32Array(Math.max(top + 2, this.#start.length * 2));
      grown.set(this.#start);
      this.#start = grown;
    }
    for (let c = this.#top + 2; c <= top + 1; c++) this.#start[c] = this.size;
    this.#top = top;
  }

  #swap(i: number, j: number): void {
    if (i === j) return;
    const order = this.order;
    const a = order[i]!;
    const b = order[j]!;
    order[i] = b;
    order[j] = a;
    this.#position[b] = i;
    this.#position[a] = j;
  }
}
