/** How many times a piece of news is piggybacked: λ·⌈log10(n+1)⌉ (memberlist's retransmit limit). */
export function retransmitLimit(retransmitMult: number, clusterSize: number): number {
  return retransmitMult * Math.ceil(Math.log10(clusterSize + 1));
}

interface Item {
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly seq: number;
  transmits: number;
}

/**
 * The news waiting to be piggybacked on outgoing packets. Each item is keyed by the member it is
 * about: newer news about a member replaces (invalidates) older news about it, so a refutation
 * never travels behind the suspicion it answers. Items sent the fewest times go first, newest
 * first among equals, and each is dropped after `retransmitLimit` sends.
 *
 * @example
 * const queue = new BroadcastQueue(4, () => members.size);
 * queue.enqueue('node-7', encodeMessage(aliveClaim));
 * const parts = queue.take(1200);
 */
export class BroadcastQueue {
  readonly #retransmitMult: number;
  readonly #clusterSize: () => number;
  readonly #items = new Map<string, Item>();
  #seq = 0;

  constructor(retransmitMult: number, clusterSize: () => number) {
    this.#retransmitMult = retransmitMult;
    this.#clusterSize = clusterSize;
  }

  get size(): number {
    return this.#items.size;
  }

  /** Queues `bytes` (an encoded message) about `key`, replacing whatever was queued about it. */
  enqueue(key: string, bytes: Uint8Array): void {
    this.#items.set(key, { key, bytes, seq: this.#seq++, transmits: 0 });
  }

  /** Whether news about `key` is still waiting to be sent. */
  has(key: string): boolean {
    return this.#items.has(key);
  }

  /** Sends left for the news about `key` (0 when none is queued). */
  transmitsLeft(key: string): number {
    const item = this.#items.get(key);
    if (!item) return 0;
    return Math.max(0, retransmitLimit(this.#retransmitMult, this.#clusterSize()) - item.transmits);
  }

  /**
   * Picks news that fits in `budget` bytes (at most `maxCount` items), counts one transmission
   * for each and retires items that reached the limit.
   */
  take(budget: number, maxCount = 254): Uint8Array[] {
    if (this.#items.size === 0 || budget <= 0) return [];
    const limit = retransmitLimit(this.#retransmitMult, this.#clusterSize());
    const ordered = [...this.#items.values()].sort((a, b) => a.transmits - b.transmits || b.seq - a.seq);
    const out: Uint8Array[] = [];
    let used = 0;
    for (const item of ordered) {
      if (out.length >= maxCount) break;
      if (used + item.bytes.length > budget) continue;
      used += item.bytes.length;
      out.push(item.bytes);
      item.transmits++;
      if (item.transmits >= limit) this.#items.delete(item.key);
    }
    return out;
  }

  clear(): void {
    this.#items.clear();
  }
}
