import { abortReason, type Clock, systemClock } from '@switchyard/core';
import {
  type Address,
  formatAddress,
  type PacketHandler,
  type RequestOptions,
  type StreamHandler,
  type Transport,
} from './transport.ts';

export interface MemoryNetworkOptions {
  /** Drives delivery: with a ManualClock, nothing moves until the test advances it. */
  readonly clock?: Clock;
  /** Source of randomness for packet loss; pass a seeded one for reproducible runs. */
  readonly random?: () => number;
  /** Fraction of datagrams lost, 0..1 (streams are reliable, like TCP). */
  readonly lossRate?: number;
  /** One-way delay of every datagram and stream frame. */
  readonly latencyMs?: number;
}

interface Endpoint {
  onPacket?: PacketHandler;
  onStream?: StreamHandler;
  paused: boolean;
  /** Extra delay of everything it sends and receives: an overloaded process. */
  slowMs: number;
}

/**
 * An in-process network for deterministic tests and simulations: datagrams are delivered on
 * the clock after `latencyMs`, lost with probability `lossRate`, and never delivered to or from a
 * paused or closed endpoint. Streams fail like a refused (closed) or silent (paused) peer.
 *
 * @example
 * const net = new MemoryNetwork({ clock, lossRate: 0.05 });
 * const node = await Membership.create({ name: 'a', transport: net.createTransport(), clock });
 */
export class MemoryNetwork {
  lossRate: number;
  readonly latencyMs: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #endpoints = new Map<string, Endpoint>();
  #nextPort = 10_000;
  /** Datagrams handed to the network, and how many of them it lost on purpose. */
  readonly counters = { packets: 0, lost: 0 };

  constructor(options: MemoryNetworkOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.lossRate = options.lossRate ?? 0;
    this.latencyMs = options.latencyMs ?? 1;
  }

  /** A transport bound to a fresh port on `host`. */
  createTransport(host = '127.0.0.1'): Transport {
    const address = { host, port: this.#nextPort++ };
    const endpoint: Endpoint = { paused: false, slowMs: 0 };
    this.#endpoints.set(formatAddress(address), endpoint);
    return new MemoryTransport(this, address, endpoint);
  }

  /** A paused endpoint neither sends nor receives (a stopped process, a cut cable). */
  setPaused(address: Address, paused: boolean): void {
    const endpoint = this.#endpoints.get(formatAddress(address));
    if (endpoint) endpoint.paused = paused;
  }

  /**
   * Delays every datagram to and from `address` by `extraMs` more, as a process whose event loop
   * is starved would: its answers come late and it sees others' answers late.
   */
  setSlow(address: Address, extraMs: number): void {
    const endpoint = this.#endpoints.get(formatAddress(address));
    if (endpoint) endpoint.slowMs = Math.max(0, extraMs);
  }

  /** @internal */
  deliverPacket(from: Address, to: Address, data: Uint8Array): boolean {
    const source = this.#endpoints.get(formatAddress(from));
    if (!source || source.paused) return false;
    this.counters.packets++;
    if (this.lossRate > 0 && this.#random() < this.lossRate) {
      this.counters.lost++;
      return true;
    }
    const copy = Uint8Array.from(data);
    const slow = source.slowMs + (this.#endpoints.get(formatAddress(to))?.slowMs ?? 0);
    this.#later(() => {
      const target = this.#endpoints.get(formatAddress(to));
      if (target && !target.paused) target.onPacket?.(copy, from);
    }, slow);
    return true;
  }

  /** @internal */
  deliverRequest(from: Address, to: Address, data: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<Uint8Array>((resolve, reject) => {
      let settled = false;
      const finish = (error: unknown, answer?: Uint8Array) => {
        if (settled) return;
        settled = true;
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (answer) resolve(answer);
        else reject(error);
      };
      const onAbort = () => finish(abortReason(signal!));
      const timer = this.#clock.setTimeout(
        () => finish(new Error(`no answer from ${formatAddress(to)} within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      timer.unref?.();
      signal?.addEventListener('abort', onAbort, { once: true });
      const copy = Uint8Array.from(data);
      this.#later(() => {
        const target = this.#endpoints.get(formatAddress(to));
        if (!target?.onStream) return finish(new Error(`connection refused by ${formatAddress(to)}`));
        if (target.paused) return; // a silent peer: the request times out
        target.onStream(copy, from).then(
          (answer) =>
            this.#later(() =>
              answer ? finish(undefined, answer) : finish(new Error('stream closed without an answer')),
            ),
          (error: unknown) => finish(error),
        );
      });
    });
  }

  /** @internal */
  remove(address: Address): void {
    this.#endpoints.delete(formatAddress(address));
  }

  #later(fn: () => void, extraMs = 0): void {
    this.#clock.setTimeout(fn, this.latencyMs + extraMs).unref?.();
  }
}

class MemoryTransport implements Transport {
  readonly address: Address;
  readonly #network: MemoryNetwork;
  readonly #endpoint: Endpoint;
  #closed = false;

  constructor(network: MemoryNetwork, address: Address, endpoint: Endpoint) {
    this.#network = network;
    this.address = address;
    this.#endpoint = endpoint;
  }

  listen(onPacket: PacketHandler, onStream: StreamHandler): void {
    this.#endpoint.onPacket = onPacket;
    this.#endpoint.onStream = onStream;
  }

  sendPacket(to: Address, data: Uint8Array): boolean {
    return !this.#closed && this.#network.deliverPacket(this.address, to, data);
  }

  request(to: Address, data: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error('transport closed'));
    if (this.#endpoint.paused) return Promise.reject(new Error('network unreachable: endpoint is paused'));
    return this.#network.deliverRequest(this.address, to, data, options);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#network.remove(this.address);
  }
}
