import type { Clock, TimerHandle } from '@switchyard/core';
import type { Awareness } from './awareness.ts';
import type { BroadcastQueue } from './broadcast-queue.ts';
import { encodeMessage } from './codec.ts';
import {
  freezeRecord,
  isLive,
  type MemberClaim,
  type MemberEventType,
  type MemberRecord,
} from './member-state.ts';
import type { MemberTable } from './member-table.ts';
import type { ProbeOrder } from './probe-order.ts';
import { minSuspicionTimeout, Suspicion } from './suspicion.ts';

export interface MemberLifecycleOptions {
  readonly clock: Clock;
  readonly suspicionMult: number;
  readonly suspicionMaxTimeoutMult: number;
  readonly probeIntervalMs: number;
  readonly reapDelayMs: number;
  /** Dynamic (shrinking) suspicion timeouts; without, every suspicion lasts the minimum. */
  readonly lifeguard: boolean;
}

/** What the lifecycle tells its node about a member's change. */
export type MemberChangeListener = (
  event: MemberEventType,
  member: MemberRecord,
  previous?: MemberRecord,
) => void;

/**
 * Applies membership news with everything that follows from it: refuting claims about the local
 * member, starting and confirming suspicions (Lifeguard timeouts), declaring suspects dead when
 * their time is up, reaping dead members after a delay, re-gossiping what changed, and telling
 * the node which event happened.
 *
 * @example
 * const lifecycle = new MemberLifecycle(table, broadcasts, awareness, order, options, emit);
 * lifecycle.apply({ type: 'suspect', id: 'b', incarnation: 3, from: 'c' });
 */
export class MemberLifecycle {
  readonly #table: MemberTable;
  readonly #broadcasts: BroadcastQueue;
  readonly #awareness: Awareness;
  readonly #probeOrder: ProbeOrder;
  readonly #o: MemberLifecycleOptions;
  readonly #onChange: MemberChangeListener;
  readonly #suspicions = new Map<string, Suspicion>();
  readonly #reapTimers = new Map<string, TimerHandle>();
  /** Once leaving, claims about ourselves are no longer refuted. */
  leaving = false;
  #closed = false;

  constructor(
    table: MemberTable,
    broadcasts: BroadcastQueue,
    awareness: Awareness,
    probeOrder: ProbeOrder,
    options: MemberLifecycleOptions,
    onChange: MemberChangeListener,
  ) {
    this.#table = table;
    this.#broadcasts = broadcasts;
    this.#awareness = awareness;
    this.#probeOrder = probeOrder;
    this.#o = options;
    this.#onChange = onChange;
  }

  /** Applies one claim, from a probe, gossip or a push-pull. */
  apply(claim: MemberClaim): void {
    if (this.#closed) return;
    const id = claim.type === 'alive' ? claim.record.id : claim.id;
    if (id === this.#table.localId) {
      this.#aboutSelf(claim);
      return;
    }
    const before = this.#table.get(id);
    const change = this.#table.apply(claim);
    if (!change) {
      // Another member suspects too: a Lifeguard confirmation, which shortens the timeout.
      if (
        claim.type === 'suspect' &&
        before?.state === 'suspect' &&
        before.incarnation === claim.incarnation
      ) {
        if (this.#suspicions.get(id)?.confirm(claim.from)) this.#broadcasts.enqueue(id, encodeMessage(claim));
      }
      return;
    }
    const after = change.after;
    this.#suspicions.get(id)?.cancel();
    this.#suspicions.delete(id);
    if (isLive(after.state)) {
      this.#cancelReap(id);
      this.#probeOrder.add(id);
      if (claim.type === 'suspect') this.#startSuspicion(after, claim.from);
    } else {
      this.#probeOrder.remove(id);
      this.#scheduleReap(id);
    }
    this.#broadcasts.enqueue(id, encodeMessage(claim));
    if (change.event) this.#onChange(change.event, after, before);
  }

  /** Active suspicions, for tests and diagnostics. */
  get suspicions(): number {
    return this.#suspicions.size;
  }

  close(): void {
    this.#closed = true;
    for (const suspicion of this.#suspicions.values()) suspicion.cancel();
    this.#suspicions.clear();
    for (const timer of this.#reapTimers.values()) this.#o.clock.clearTimeout(timer);
    this.#reapTimers.clear();
  }

  /** News about ourselves: anything that says we are less than alive is refuted. */
  #aboutSelf(claim: MemberClaim): void {
    if (this.leaving) return;
    const local = this.#table.local;
    const incarnation = claim.type === 'alive' ? claim.record.incarnation : claim.incarnation;
    if (claim.type === 'alive' ? incarnation <= local.incarnation : incarnation < local.incarnation) return;
    // Having to refute hints that we are the slow one (Lifeguard).
    if (claim.type === 'suspect' || claim.type === 'dead') this.#awareness.apply(1);
    const next = freezeRecord({ ...local, incarnation: incarnation + 1, state: 'alive' });
    this.#table.setLocal(next);
    this.#broadcasts.enqueue(next.id, encodeMessage({ type: 'alive', record: next }));
  }

  #startSuspicion(member: MemberRecord, from: string): void {
    const n = this.#table.liveCount;
    // k independent confirmations are expected; too few members to give them means plain SWIM.
    let k = this.#o.lifeguard ? this.#o.suspicionMult - 2 : 0;
    if (n - 2 < k) k = 0;
    const min = minSuspicionTimeout(this.#o.suspicionMult, n, this.#o.probeIntervalMs);
    const max = this.#o.suspicionMaxTimeoutMult * min;
    const suspicion = new Suspicion(from, k, min, max, this.#o.clock, () => {
      this.#suspicions.delete(member.id);
      const current = this.#table.get(member.id);
      if (current?.state === 'suspect' && current.incarnation === member.incarnation) {
        this.apply({
          type: 'dead',
          id: member.id,
          incarnation: member.incarnation,
          from: this.#table.localId,
        });
      }
    });
    this.#suspicions.set(member.id, suspicion);
  }

  #scheduleReap(id: string): void {
    this.#cancelReap(id);
    const timer = this.#o.clock.setTimeout(() => {
      this.#reapTimers.delete(id);
      const record = this.#table.get(id);
      if (record && !isLive(record.state)) this.#table.remove(id);
    }, this.#o.reapDelayMs);
    timer.unref?.();
    this.#reapTimers.set(id, timer);
  }

  #cancelReap(id: string): void {
    const timer = this.#reapTimers.get(id);
    if (timer !== undefined) this.#o.clock.clearTimeout(timer);
    this.#reapTimers.delete(id);
  }
}
