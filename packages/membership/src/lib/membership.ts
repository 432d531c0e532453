import { neverAbortedSignal, sleep, type TimerHandle, TypedEmitter, ValidationError } from '@switchyard/core';
import { Awareness } from './awareness.ts';
import { BroadcastQueue } from './broadcast-queue.ts';
import { type CodecOptions, encodeMessage, type Message } from './codec.ts';
import { MembershipClosedError, MembershipDecodeError, MembershipJoinError } from './errors.ts';
import { MemberLifecycle } from './member-lifecycle.ts';
import { freezeRecord, isLive, nextIncarnation } from './member-state.ts';
import { MemberTable } from './member-table.ts';
import type { Member, MembershipEvents } from './membership-events.ts';
import { createNetTransport } from './net-transport.ts';
import { type MembershipOptions, type ResolvedOptions, resolveOptions, validateMetadata } from './options.ts';
import { PacketChannel } from './packet-channel.ts';
import { ProbeOrder } from './probe-order.ts';
import { Prober } from './prober.ts';
import { warnIfUnencrypted } from './security-warning.ts';
import { StateSync } from './state-sync.ts';
import { type MembershipStats, StatsCounter } from './stats.ts';
import { type Address, parseAddress, sameAddress, type Transport } from './transport.ts';

/**
 * A SWIM cluster member with Lifeguard's refinements, in the manner of HashiCorp memberlist:
 * UDP probes with indirect ping-req and nacks, suspicion with refutation by incarnation,
 * piggybacked gossip, and TCP push-pull for join and anti-entropy.
 *
 * @example
 * const node = await Membership.create({ name: 'cache-1', metadata: { service: 'cache', port: '6379' } });
 * await node.join(['10.0.0.5:7946', '10.0.0.6:7946']);
 * node.on('failed', ({ member }) => console.log(`${member.id} failed`));
 * // …
 * await node.leave();
 * await node.close();
 */
export class Membership extends TypedEmitter<MembershipEvents> {
  readonly #o: ResolvedOptions;
  readonly #transport: Transport;
  readonly #codec: CodecOptions;
  readonly #channel: PacketChannel;
  readonly #sync: StateSync;
  readonly #table: MemberTable;
  readonly #broadcasts: BroadcastQueue;
  readonly #awareness: Awareness;
  readonly #prober: Prober;
  readonly #probeOrder: ProbeOrder;
  readonly #stats = new StatsCounter();
  readonly #lifecycle: MemberLifecycle;
  readonly #loops = new Map<'probe' | 'gossip' | 'push-pull', TimerHandle>();
  #seq = 0;
  #probing = false;
  #closed = false;

  /** Validates `options`, binds UDP and TCP (or takes `options.transport`) and starts the protocol. */
  static async create(options: MembershipOptions): Promise<Membership> {
    const o = resolveOptions(options);
    const sink: { drop?: (error: MembershipDecodeError, from: Address) => void } = {};
    const transport =
      o.transport ??
      (await createNetTransport({
        host: o.bindHost,
        port: o.bindPort,
        maxFrameBytes: o.maxFrameBytes,
        streamTimeoutMs: o.streamTimeoutMs,
        streamIdleTimeoutMs: o.streamIdleTimeoutMs,
        maxInboundStreams: o.maxInboundStreams,
        clock: o.clock,
        onDrop: (error, from) => sink.drop?.(error, from),
      }));
    if (!o.transport)
      warnIfUnencrypted(o.name, { host: o.bindHost, port: transport.address.port }, !!o.keyring);
    const node = new Membership(o, transport);
    sink.drop = (error, from) => node.#dropped(error, from);
    return node;
  }

  private constructor(o: ResolvedOptions, transport: Transport) {
    super();
    this.#o = o;
    this.#transport = transport;
    this.#codec = { label: o.clusterLabel, keyring: o.keyring };
    const { port } = transport.address;
    const host = o.advertiseHost ?? transport.address.host;
    this.#table = new MemberTable(
      freezeRecord({ id: o.name, host, port, incarnation: 0, state: 'alive', metadata: o.metadata }),
    );
    this.#broadcasts = new BroadcastQueue(o.retransmitMult, () => this.#table.liveCount);
    this.#awareness = new Awareness(o.lifeguard ? o.awarenessMaxMultiplier : 0);
    this.#probeOrder = new ProbeOrder(o.random);
    this.#channel = new PacketChannel(
      transport,
      this.#codec,
      this.#broadcasts,
      this.#stats,
      o.maxPacketBytes,
      (e, f) => this.#dropped(e, f),
    );
    this.#lifecycle = new MemberLifecycle(
      this.#table,
      this.#broadcasts,
      this.#awareness,
      this.#probeOrder,
      o,
      {
        change: (event, member, previous) => this.emit(event, { member, previous }),
        conflict: (member, other) => this.emit('conflict', { member, other }),
        reject: (error, from) => this.#dropped(error, from ?? { host: '', port: 0 }),
        tell: (member, message) => this.#channel.sendParts(member, [message]),
      },
    );
    this.#sync = new StateSync({
      localId: o.name,
      transport,
      codec: this.#codec,
      stats: this.#stats,
      streamTimeoutMs: o.streamTimeoutMs,
      maxNewMembersPerMerge: o.maxNewMembersPerMerge,
      records: () => this.#table.all(),
      apply: (claim, source) => this.#lifecycle.apply(claim, source),
      onDrop: (error, from) => this.#dropped(error, from),
    });
    this.#prober = new Prober(
      {
        clock: o.clock,
        awareness: this.#awareness,
        nextSeq: () => this.#nextSeq(),
        send: (to, message) => this.#channel.send(to, message),
        indirectPeers: (targetId, k) =>
          this.#randomMembers(k, (m) => m.state === 'alive' && m.id !== targetId && m.id !== o.name),
      },
      {
        probeTimeoutMs: o.probeTimeoutMs,
        probeIntervalMs: o.probeIntervalMs,
        indirectChecks: o.indirectChecks,
        nacks: o.lifeguard,
      },
    );
    transport.listen(
      (data, from) => this.#onPacket(data, from),
      async (data, from) => (this.#closed ? undefined : this.#sync.serve(data, from)),
    );
    this.#broadcasts.enqueue(o.name, encodeMessage({ type: 'alive', record: this.#table.local }));
    // Start each loop at a random offset so that nodes started together do not probe in lockstep.
    this.#schedule('probe', o.probeIntervalMs * o.random(), () => this.#probeTick());
    this.#schedule('gossip', o.gossipIntervalMs * o.random(), () => this.#gossipTick());
    if (o.pushPullIntervalMs > 0) {
      this.#schedule('push-pull', o.pushPullIntervalMs * (0.5 + o.random()), () => this.#pushPullTick());
    }
  }

  /** Where this node listens (UDP and TCP). */
  get address(): Address {
    return this.#transport.address;
  }

  /**
   * Joins a cluster through any of `seeds` (`"host:port"`) with a full state exchange each.
   * Resolves with the number of seeds reached; rejects with MembershipJoinError only when none
   * was (seeds naming this node itself are skipped and do not count).
   */
  async join(seeds: readonly string[], options: { signal?: AbortSignal } = {}): Promise<number> {
    this.#assertOpen('join');
    if (this.#lifecycle.leaving) throw new MembershipClosedError('join after leave');
    if (!Array.isArray(seeds)) throw new ValidationError('seeds', 'expected an array of "host:port" strings');
    const addresses = seeds.map((seed, index) => ({ seed, address: parseAddress(seed, `seeds[${index}]`) }));
    const local = this.#table.local;
    const others = addresses.filter(
      ({ address }) => !sameAddress(address, this.address) && !sameAddress(address, local),
    );
    const results = await Promise.allSettled(
      others.map(({ address }) => this.#sync.exchange(address, true, options.signal ?? neverAbortedSignal)),
    );
    options.signal?.throwIfAborted();
    const reached = results.filter((result) => result.status === 'fulfilled').length;
    if (reached === 0 && others.length > 0) {
      const causes = new Map<string, unknown>();
      results.forEach((result, i) => {
        if (result.status === 'rejected') causes.set(others[i]!.seed, result.reason);
      });
      throw new MembershipJoinError(causes);
    }
    return reached;
  }

  /**
   * Leaves gracefully: announces `left` (with a higher incarnation, so it cannot be refuted by
   * stale news) to every live member and through gossip, stops probing, and waits one gossip
   * interval for the news to spread. Call `close()` afterwards.
   */
  async leave(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen('leave');
    if (this.#lifecycle.leaving) return;
    this.#lifecycle.leaving = true;
    this.#cancelLoop('probe');
    this.#cancelLoop('push-pull');
    const local = this.#table.local;
    const left = freezeRecord({ ...local, incarnation: nextIncarnation(local.incarnation), state: 'left' });
    this.#table.setLocal(left);
    const bytes = encodeMessage({ type: 'left', id: left.id, incarnation: left.incarnation });
    this.#broadcasts.enqueue(left.id, bytes);
    // Leaving is rare and must not look like a failure anywhere: tell everyone directly too.
    for (const member of this.#table.live()) {
      if (member.id !== left.id) this.#channel.sendParts(member, [bytes]);
    }
    await sleep(this.#o.gossipIntervalMs, options.signal ?? neverAbortedSignal, this.#o.clock);
  }

  /** Alive and suspect members, this node included, sorted by id. */
  members(): Member[] {
    return this.#table.live().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** What this node knows about `id`, dead or left members included until they are reaped. */
  member(id: string): Member | undefined {
    return this.#table.get(id);
  }

  /** This node's own record: its address, metadata and current incarnation. */
  localMember(): Member {
    return this.#table.local;
  }

  /** Replaces this node's metadata and gossips it with a new incarnation. */
  updateMetadata(metadata: Readonly<Record<string, string>>): Member {
    this.#assertOpen('updateMetadata');
    if (this.#lifecycle.leaving) throw new MembershipClosedError('updateMetadata after leave');
    const previous = this.#table.local;
    const next = freezeRecord({
      ...previous,
      metadata: validateMetadata(metadata),
      incarnation: nextIncarnation(previous.incarnation),
    });
    this.#table.setLocal(next);
    this.#broadcasts.enqueue(next.id, encodeMessage({ type: 'alive', record: next }));
    this.emit('updated', { member: next, previous });
    return next;
  }

  /** Traffic counters since creation, and dropped packets by reason. */
  stats(): MembershipStats {
    return this.#stats.snapshot();
  }

  /** Lifeguard's local health score: 0 is healthy; n stretches probe timing by n + 1. */
  localHealth(): number {
    return this.#awareness.score;
  }

  /** Stops every timer, closes the sockets; the node cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of [...this.#loops.keys()]) this.#cancelLoop(name);
    this.#lifecycle.close();
    this.#prober.close();
    this.#channel.closed = true;
    this.#broadcasts.clear();
    await this.#transport.close();
  }

  // ── protocol loops ────────────────────────────────────────────────────────────────────────

  #probeTick(): void {
    this.#schedule('probe', this.#awareness.scale(this.#o.probeIntervalMs), () => this.#probeTick());
    if (this.#probing) return;
    const localId = this.#o.name;
    const id = this.#probeOrder.next((candidate) => {
      const record = this.#table.get(candidate);
      return candidate !== localId && record !== undefined && isLive(record.state);
    });
    const target = id === undefined ? undefined : this.#table.get(id);
    if (!target) return;
    this.#probing = true;
    void this.#prober.probe(target).then((result) => {
      this.#probing = false;
      if (this.#closed || this.#lifecycle.leaving || result !== 'failed') return;
      this.#lifecycle.apply({
        type: 'suspect',
        id: target.id,
        incarnation: target.incarnation,
        from: localId,
      });
    });
  }

  #gossipTick(): void {
    this.#schedule('gossip', this.#o.gossipIntervalMs, () => this.#gossipTick());
    if (this.#broadcasts.size === 0) return;
    // Dead members still get gossip until reaped: a node wrongly declared dead learns it and refutes.
    const peers = this.#randomMembers(
      this.#o.gossipNodes,
      (m) => m.id !== this.#o.name && m.state !== 'left',
    );
    for (const peer of peers) if (!this.#channel.gossip(peer)) break;
  }

  #pushPullTick(): void {
    this.#schedule('push-pull', this.#o.pushPullIntervalMs, () => this.#pushPullTick());
    const [peer] = this.#randomMembers(1, (m) => m.id !== this.#o.name && isLive(m.state));
    if (peer) this.#sync.exchange(peer, false, neverAbortedSignal).catch(() => {});
  }

  // ── messages in ───────────────────────────────────────────────────────────────────────────

  #onPacket(data: Uint8Array, from: Address): void {
    const messages = this.#channel.receive(data, from);
    if (messages) for (const message of messages) this.#dispatch(message, from);
  }

  #dispatch(message: Message, from: Address): void {
    switch (message.type) {
      case 'ping':
        // An ack for a ping meant for another name (an old node at a reused address) would lie.
        if (message.target === this.#o.name) this.#channel.send(from, { type: 'ack', seq: message.seq });
        break;
      case 'ping-req':
        this.#prober.handlePingReq(message, from);
        break;
      case 'ack':
        this.#prober.onAck(message.seq);
        break;
      case 'nack':
        this.#prober.onNack(message.seq);
        break;
      case 'push-pull':
        this.#dropped(new MembershipDecodeError('malformed', 'push-pull in a datagram'), from);
        break;
      default:
        this.#lifecycle.apply(message, { from });
    }
  }

  // ── messages out ──────────────────────────────────────────────────────────────────────────

  #dropped(error: MembershipDecodeError, from: Address): void {
    this.#stats.drop(error.reason);
    if (this.hasListeners('dropped')) this.emit('dropped', { reason: error.reason, from, error });
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────

  #randomMembers(k: number, accept: (member: Member) => boolean): Member[] {
    const candidates = this.#table.all().filter(accept);
    const random = this.#o.random;
    for (let i = 0; i < Math.min(k, candidates.length); i++) {
      const j = i + Math.floor(random() * (candidates.length - i));
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    return candidates.slice(0, k);
  }

  #schedule(name: 'probe' | 'gossip' | 'push-pull', ms: number, fn: () => void): void {
    if (this.#closed) return;
    const timer = this.#o.clock.setTimeout(fn, ms);
    timer.unref?.();
    this.#loops.set(name, timer);
  }

  #cancelLoop(name: 'probe' | 'gossip' | 'push-pull'): void {
    const timer = this.#loops.get(name);
    if (timer !== undefined) this.#o.clock.clearTimeout(timer);
    this.#loops.delete(name);
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new MembershipClosedError(what);
  }
}
