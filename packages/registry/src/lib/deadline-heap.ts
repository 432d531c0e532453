/** One queued deadline: `at` (clock ms) for the item it names. */
export interface Deadline<T> {
  readonly at: number;
  readonly item: T;
}

/**
 * A binary min-heap of deadlines: O(log n) push and pop, O(1) peek. Entries are never removed
 * from the middle; the owner drops stale ones as they surface (lazy deletion) and calls
 * `rebuild` when they pile up.
 */
export class DeadlineHeap<T> {
  #entries: Deadline<T>[] = [];

  get size(): number {
    return this.#entries.length;
  }

  peek(): Deadline<T> | undefined {
    return this.#entries[0];
  }

  push(at: number, item: T): void {
    const entries = this.#entries;
    entries.push({ at, item });
    let i = entries.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((entries[parent] as Deadline<T>).at <= at) break;
      [entries[i], entries[parent]] = [entries[parent] as Deadline<T>, entries[i] as Deadline<T>];
      i = parent;
    }
  }

  pop(): Deadline<T> | undefined {
    const entries = this.#entries;
    const top = entries[0];
    const last = entries.pop();
    if (top === undefined || last === undefined || entries.length === 0) return top;
    entries[0] = last;
    const atOf = (k: number) => (entries[k] as Deadline<T>).at;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < entries.length && atOf(left) < atOf(smallest)) smallest = left;
      if (right < entries.length && atOf(right) < atOf(smallest)) smallest = right;
      if (smallest === i) break;
      [entries[i], entries[smallest]] = [entries[smallest] as Deadline<T>, entries[i] as Deadline<T>];
      i = smallest;
    }
    return top;
  }

  /** Replaces the content with `items` (O(n)): drops every stale entry at once. */
  rebuild(items: Iterable<Deadline<T>>): void {
    this.#entries = [];
    for (const { at, item } of items) this.push(at, item);
  }
}
