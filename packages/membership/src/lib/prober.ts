import type { Clock, TimerHandle } from '@switchyard/core';
import type { Awareness } from './awareness.ts';
import type { Message } from './codec.ts';
import type { MemberRecord } from './member-state.ts';
import type { Address } from './transport.ts';

/** What the prober needs from its node. */
export interface ProberHost {
  readonly clock: Clock;
  readonly awareness: Awareness;
  nextSeq(): number;
  /** Sends `message` (with piggybacked gossip) to `to`. */
  send(to: Address, message: Message): void;
  /** Up to `k` random live members other than the local one and `targetId`. */
  indirectPeers(targetId: string, k: number): MemberRecord[];
}

export interface ProberOptions {
  readonly probeTimeoutMs: number;
  readonly probeIntervalMs: number;
  readonly indirectChecks: number;
  /** Ask indirect probers for nacks and feed their silence into local health (Lifeguard). */
  readonly nacks: boolean;
}

/** How one probe ended. */
export type ProbeResult = 'ack' | 'indirect-ack' | 'failed';

interface Waiter {
  onAck(): void;
  onNack(): void;
}

/**
 * SWIM's failure detector, one probe at a time: ping the target; without an ack within the
 * (health-scaled) probe timeout, ask `k` other members to ping it for us (ping-req) and wait for
 * the rest of the protocol period. Indirect probers answer with a nack when the target is silent
 * too (Lifeguard), which tells us the fault is likely not in our own node.
 *
 * @example
 * const result = await prober.probe(target); // 'ack' | 'indirect-ack' | 'failed'
 */
export class Prober {
  readonly #host: ProberHost;
  readonly #options: ProberOptions;
  readonly #waiters = new Map<number, Waiter>();
  readonly #timers = new Set<TimerHandle>();

  constructor(host: ProberHost, options: ProberOptions) {
    this.#host = host;
    this.#options = options;
  }

  /** Probes `target` and adjusts local health with what it learnt. */
  probe(target: MemberRecord): Promise<ProbeResult> {
    const { awareness } = this.#host;
    const seq = this.#host.nextSeq();
    const ackTimeout = awareness.scale(this.#options.probeTimeoutMs);
    const period = awareness.scale(this.#options.probeIntervalMs);
    return new Promise<ProbeResult>((resolve) => {
      let nacks = 0;
      let expectedNacks = 0;
      let indirect = false;
      let timer: TimerHandle;
      const finish = (result: ProbeResult) => {
        this.#clear(timer);
        this.#waiters.delete(seq);
        if (result !== 'failed') {
          awareness.apply(-1);
        } else if (this.#options.nacks) {
          // Silent indirect probers point at our own node (Lifeguard); with none, any miss counts.
          awareness.apply(expectedNacks > 0 ? expectedNacks - nacks : 1);
        }
        resolve(result);
      };
      this.#waiters.set(seq, {
        onAck: () => finish(indirect ? 'indirect-ack' : 'ack'),
        onNack: () => {
          nacks++;
        },
      });
      timer = this.#after(ackTimeout, () => {
        indirect = true;
        const peers = this.#host.indirectPeers(target.id, this.#options.indirectChecks);
        expectedNacks = this.#options.nacks ? peers.length : 0;
        for (const peer of peers) {
          this.#host.send(peer, {
            type: 'ping-req',
            seq,
            target: target.id,
            host: target.host,
            port: target.port,
            wantNack: this.#options.nacks,
          });
        }
        timer = this.#after(Math.max(period - ackTimeout, ackTimeout), () => finish('failed'));
      });
      this.#host.send(target, { type: 'ping', seq, target: target.id });
    });
  }

  /** Pings a target on behalf of `from`; relays the ack, or a nack when the target stays silent. */
  handlePingReq(message: Extract<Message, { type: 'ping-req' }>, from: Address): void {
    const seq = this.#host.nextSeq();
    const timer = this.#after(this.#options.probeTimeoutMs, () => {
      this.#waiters.delete(seq);
      if (message.wantNack) this.#host.send(from, { type: 'nack', seq: message.seq });
    });
    this.#waiters.set(seq, {
      onAck: () => {
        this.#clear(timer);
        this.#waiters.delete(seq);
        this.#host.send(from, { type: 'ack', seq: message.seq });
      },
      onNack: () => {},
    });
    this.#host.send(
      { host: message.host, port: message.port },
      { type: 'ping', seq, target: message.target },
    );
  }

  onAck(seq: number): void {
    this.#waiters.get(seq)?.onAck();
  }

  onNack(seq: number): void {
    this.#waiters.get(seq)?.onNack();
  }

  /** Probes in flight plus relayed pings waiting for an ack. */
  get pending(): number {
    return this.#waiters.size;
  }

  /** Drops every waiter and timer; pending probes never settle (their node is closing). */
  close(): void {
    for (const timer of this.#timers) this.#host.clock.clearTimeout(timer);
    this.#timers.clear();
    this.#waiters.clear();
  }

  #after(ms: number, fn: () => void): TimerHandle {
    const timer = this.#host.clock.setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    timer.unref?.();
    this.#timers.add(timer);
    return timer;
  }

  #clear(timer: TimerHandle): void {
    this.#host.clock.clearTimeout(timer);
    this.#timers.delete(timer);
  }
}
