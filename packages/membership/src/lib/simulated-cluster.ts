import { ManualClock } from '@switchyard/core';
import { Membership } from './membership.ts';
import { MemoryNetwork } from './memory-network.ts';
import type { MembershipOptions } from './options.ts';
import { formatAddress } from './transport.ts';

/** A small seeded PRNG (mulberry32), so simulations replay exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulatedClusterOptions {
  readonly size: number;
  /** Seed of every random choice (packet loss, probe order, peer selection). */
  readonly seed?: number;
  readonly lossRate?: number;
  readonly latencyMs?: number;
  /** Simulated time per step; smaller is finer but slower to run (default 5). */
  readonly stepMs?: number;
  /** Options for every node (name, clock, transport and random are set by the cluster). */
  readonly node?: Omit<MembershipOptions, 'name' | 'clock' | 'transport' | 'random'>;
}

/**
 * N Membership nodes on a MemoryNetwork driven by one ManualClock: deterministic, as fast as the
 * CPU allows, with packet loss and paused nodes on demand. For tests and simulations.
 *
 * @example
 * const sim = await SimulatedCluster.start({ size: 20, lossRate: 0.05, seed: 7 });
 * await sim.runUntil(() => sim.converged(), 10_000);
 */
export class SimulatedCluster {
  readonly clock: ManualClock;
  readonly network: MemoryNetwork;
  readonly nodes: Membership[] = [];
  readonly #options: SimulatedClusterOptions;
  readonly #random: () => number;
  readonly #stepMs: number;

  private constructor(options: SimulatedClusterOptions) {
    this.#options = options;
    this.#random = seededRandom(options.seed ?? 1);
    this.#stepMs = options.stepMs ?? 5;
    this.clock = new ManualClock();
    this.network = new MemoryNetwork({
      clock: this.clock,
      random: this.#random,
      lossRate: options.lossRate ?? 0,
      latencyMs: options.latencyMs ?? 1,
    });
  }

  /** Creates `size` nodes and joins them all through the first one. */
  static async start(options: SimulatedClusterOptions): Promise<SimulatedCluster> {
    const sim = new SimulatedCluster(options);
    for (let i = 0; i < options.size; i++) await sim.add(`node-${i}`);
    const seed = formatAddress(sim.nodes[0]!.address);
    await sim.settle(Promise.all(sim.nodes.slice(1).map((node) => node.join([seed]))));
    return sim;
  }

  /** Adds a node (not joined). */
  async add(name: string, options: Partial<MembershipOptions> = {}): Promise<Membership> {
    const node = await Membership.create({
      ...this.#options.node,
      ...options,
      name,
      clock: this.clock,
      transport: this.network.createTransport(),
      random: this.#random,
    });
    this.nodes.push(node);
    return node;
  }

  /** Moves simulated time forward by `ms`, letting promises settle between steps. */
  async run(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += this.#stepMs) {
      this.clock.advance(Math.min(this.#stepMs, ms - t));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Runs until `done()` holds; resolves with the simulated ms it took, or undefined at `maxMs`. */
  async runUntil(done: () => boolean, maxMs: number): Promise<number | undefined> {
    const start = this.clock.now();
    while (!done()) {
      if (this.clock.now() - start >= maxMs) return undefined;
      await this.run(this.#stepMs);
    }
    return this.clock.now() - start;
  }

  /** Runs the clock until `promise` settles, and returns its outcome. */
  async settle<T>(promise: Promise<T>, maxMs = 60_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => {});
    await this.runUntil(() => settled, maxMs);
    return tracked;
  }

  /** Every running node in `nodes` sees exactly `expected` alive members (default: all running). */
  converged(nodes: readonly Membership[] = this.nodes, expected = nodes.length): boolean {
    return nodes.every(
      (node) => node.members().filter((member) => member.state === 'alive').length === expected,
    );
  }

  /** Stops a node's traffic both ways without telling anyone (a paused process). */
  pause(node: Membership, paused = true): void {
    this.network.setPaused(node.address, paused);
  }

  /** Delays all of a node's datagrams by `extraMs` (0 restores it): an overloaded process. */
  slow(node: Membership, extraMs: number): void {
    this.network.setSlow(node.address, extraMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.close()));
  }
}
