import { BUCKETS, bucketOf, quantile } from './latency-histogram.ts';

const SECONDS = 60;
const SLICE_SECONDS = 10;
const SLICES = SECONDS / SLICE_SECONDS;

/** One instance's last minute: requests and errors per second, latency per 10-second slice. */
class InstanceTraffic {
  readonly requests = new Uint32Array(SECONDS);
  readonly errors = new Uint32Array(SECONDS);
  readonly latency = new Uint32Array(SLICES * BUCKETS);
  /** The second each slot was last written, so a slot from a minute ago reads as empty. */
  readonly secondOf = new Float64Array(SECONDS).fill(-1);
  readonly sliceOf = new Float64Array(SLICES).fill(-1);
  lastSecond = -1;
}

/** What the page shows of one instance's minute. */
export interface InstanceTrafficView {
  /** Requests per second, oldest first (60 values). */
  readonly series: readonly number[];
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
}

/**
 * Attempt outcomes of the last minute per service and instance, in fixed-size rings (≈ 3 KiB
 * an instance); at most `maxInstances` are tracked, the least recently active dropped first.
 */
export class TrafficRecorder {
  readonly #byKey = new Map<string, InstanceTraffic>();
  readonly #maxInstances: number;

  constructor(maxInstances = 5_000) {
    this.#maxInstances = maxInstances;
  }

  record(service: string, instanceId: string, nowMs: number, durationMs: number, ok: boolean): void {
    const key = `${service}\u0000${instanceId}`;
    let traffic = this.#byKey.get(key);
    if (traffic) {
      this.#byKey.delete(key); // re-insert: the map's order is least recently active first
    } else {
      if (this.#byKey.size >= this.#maxInstances) {
        const oldest = this.#byKey.keys().next().value;
        if (oldest !== undefined) this.#byKey.delete(oldest);
      }
      traffic = new InstanceTraffic();
    }
    this.#byKey.set(key, traffic);
    const second = Math.floor(nowMs / 1_000);
    const slot = second % SECONDS;
    if (traffic.secondOf[slot] !== second) {
      traffic.secondOf[slot] = second;
      traffic.requests[slot] = 0;
      traffic.errors[slot] = 0;
    }
    traffic.requests[slot] = (traffic.requests[slot] ?? 0) + 1;
    if (!ok) traffic.errors[slot] = (traffic.errors[slot] ?? 0) + 1;
    const sliceNumber = Math.floor(second / SLICE_SECONDS);
    const slice = sliceNumber % SLICES;
    if (traffic.sliceOf[slice] !== sliceNumber) {
      traffic.sliceOf[slice] = sliceNumber;
      traffic.latency.fill(0, slice * BUCKETS, (slice + 1) * BUCKETS);
    }
    const index = slice * BUCKETS + bucketOf(durationMs);
    traffic.latency[index] = (traffic.latency[index] ?? 0) + 1;
    traffic.lastSecond = second;
  }

  view(service: string, instanceId: string, nowMs: number): InstanceTrafficView {
    const traffic = this.#byKey.get(`${service}\u0000${instanceId}`);
    const now = Math.floor(nowMs / 1_000);
    const series: number[] = [];
    let requests = 0;
    let errors = 0;
    for (let age = SECONDS - 1; age >= 0; age--) {
      const second = now - age;
      const slot = second % SECONDS;
      const fresh = traffic !== undefined && traffic.secondOf[slot] === second;
      const count = fresh ? (traffic.requests[slot] ?? 0) : 0;
      series.push(count);
      requests += count;
      if (fresh) errors += traffic.errors[slot] ?? 0;
    }
    const slices: number[] = [];
    if (traffic) {
      const current = Math.floor(now / SLICE_SECONDS);
      for (let s = 0; s < SLICES; s++) {
        const number = traffic.sliceOf[s] ?? -1;
        if (number >= 0 && current - number < SLICES) slices.push(s);
      }
    }
    return {
      series,
      requests,
      errors,
      p50Ms: traffic ? quantile(traffic.latency, slices, 0.5) : undefined,
      p99Ms: traffic ? quantile(traffic.latency, slices, 0.99) : undefined,
    };
  }

  forget(service: string, keep: ReadonlySet<string>): void {
    const prefix = `${service}\u0000`;
    for (const key of this.#byKey.keys()) {
      if (key.startsWith(prefix) && !keep.has(key.slice(prefix.length))) this.#byKey.delete(key);
    }
  }
}
