import type { Clock, TimerHandle } from '@switchyard/core';
import type { Awareness } from './awareness.ts';
import type { BroadcastQueue } from './broadcast-queue.ts';
import { encodeMessage } from './codec.ts';
import { MembershipDecodeError } from './errors.ts';
import {
  claimId,
  claimIncarnation,
  freezeRecord,
  isLive,
  type MemberClaim,
  type MemberEventType,
  type MemberRecord,
  nextIncarnation,
} from './member-state.ts';
import type { MemberTable } from './member-table.ts';
import type { ProbeOrder } from './probe-order.ts';
import { minSuspicionTimeout, Suspicion } from './suspicion.ts';
import type { Address } from './transport.ts';

export interface MemberLifecycleOptions {
  readonly clock: Clock;
  readonly suspicionMult: number;
  readonly suspicionMaxTimeoutMult: number;
  readonly probeIntervalMs: number;
  readonly reapDelayMs: number;
  /** Dynamic (shrinking) suspicion timeouts; without, every suspicion lasts the minimum. */
  readonly lifeguard: boolean;
  /** Largest step above a known member's incarnation that a claim may take. */
  readonly maxIncarnationJump: number;
  /** Records held at most (self, dead and left included); news of more members is refused. */
  readonly maxMembers: number;
}

/** How many members not known yet one push-pull may still add; counts those refused. */
export interface Admission {
  left: number;
  refused: number;
}

/** Where a claim came from: the sender, and whether it is the answer to our own join. */
export interface ClaimSource {
  readonly from?: Address | undefined;
  /**
   * The answer of a seed this node chose to join through. Only there may news about this node
   * move its incarnation past `maxIncarnationJump`: a restart that the cluster still remembers
   * at a high incarnation, which the fresh process (at 0) must beat.
   */
  readonly ownJoin?: boolean;
  /** A push-pull's share of new members; refusals are counted here, not reported one by one. */
  readonly admission?: Admission | undefined;
}

/** What the lifecycle reports besides member changes. */
export interface MemberLifecycleReports {
  readonly change: MemberChangeListener;
  /** An `alive` for a held name from another address: ignored, and reported. */
  readonly conflict: (member: MemberRecord, other: MemberRecord) => void;
  /** A claim refused (implausible incarnation, member limit). */
  readonly reject: (error: MembershipDecodeError, from: Address | undefined) => void;
  /** Sends encoded news straight to the member it is about. */
  readonly tell: (member: MemberRecord, message: Uint8Array) => void;
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
 * the node which event happened. Two guards stand before the merge rules: an `alive` for a live
 * member from another address is a name conflict (reported, not applied: memberlist's rule), and
 * a claim whose incarnation jumps more than `maxIncarnationJump` above the known one is refused,
 * so that one forged packet cannot push a member to the incarnation ceiling.
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
  readonly #report: MemberLifecycleReports;
  /** Conflicts already reported, "id host:port@incarnation", so a repeated claim is not re-reported. */
  readonly #conflictsSeen = new Set<string>();
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
    report: MemberLifecycleReports,
  ) {
    this.#table = table;
    this.#broadcasts = broadcasts;
    this.#awareness = awareness;
    this.#probeOrder = probeOrder;
    this.#o = options;
    this.#report = report;
  }

  /** Applies one claim, from a probe, gossip or a push-pull. */
  apply(claim: MemberClaim, source: ClaimSource = {}): void {
    if (this.#closed) return;
    const id = claimId(claim);
    if (id === this.#table.localId) {
      this.#aboutSelf(claim, source);
      return;
    }
    const before = this.#table.get(id);
    if (claim.type === 'alive' && before && isLive(before.state) && movedAway(before, claim.record)) {
      this.#conflict(before, claim.record);
      return;
    }
    if (before && !this.#plausible(before, claim, source)) return;
    if (!before && claim.type === 'alive' && !this.#admit(id, source)) return;
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
    }
    const news = encodeMessage(claim);
    if (!isLive(after.state)) {
      this.#probeOrder.remove(id);
      this.#scheduleReap(id);
      // Gossip skips departed members, so a live one wrongly said to be gone (a forged `left`)
      // would only learn it at its next push-pull: one packet tells it now, so that it refutes.
      this.#report.tell(after, news);
    }
    this.#broadcasts.enqueue(id, news);
    if (change.event) this.#report.change(change.event, after, before);
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
    this.#conflictsSeen.clear();
  }

  /** News about ourselves: anything that says we are less than alive is refuted. */
  #aboutSelf(claim: MemberClaim, source: ClaimSource): void {
    if (this.leaving) return;
    const local = this.#table.local;
    // Another node with our name: report it, and do not raise our incarnation against it.
    if (claim.type === 'alive' && movedAway(local, claim.record)) {
      this.#conflict(local, claim.record);
      return;
    }
    const incarnation = claimIncarnation(claim);
    if (claim.type === 'alive' ? incarnation <= local.incarnation : incarnation < local.incarnation) return;
    if (!this.#plausible(local, claim, source)) return;
    // Having to refute hints that we are the slow one (Lifeguard).
    if (claim.type === 'suspect' || claim.type === 'dead') this.#awareness.apply(1);
    const next = freezeRecord({
      ...local,
      incarnation: nextIncarnation(local.incarnation, incarnation),
      state: 'alive',
    });
    this.#table.setLocal(next);
    this.#broadcasts.enqueue(next.id, encodeMessage({ type: 'alive', record: next }));
  }

  /** False (and reported) when `claim` jumps too far above what we know of the member. */
  #plausible(known: MemberRecord, claim: MemberClaim, source: ClaimSource): boolean {
    const incarnation = claimIncarnation(claim);
    const limit = known.incarnation + this.#o.maxIncarnationJump;
    if (incarnation <= limit) return true;
    if (source.ownJoin && known.id === this.#table.localId) return true;
    this.#report.reject(
      new MembershipDecodeError(
        'incarnation',
        `${claim.type} for ${known.id} at incarnation ${incarnation}, known ${known.incarnation}`,
      ),
      source.from,
    );
    return false;
  }

  /** Whether a member not known yet may be added: room in the table, and in the merge's share. */
  #admit(id: string, source: ClaimSource): boolean {
    const admission = source.admission;
    if (this.#table.size >= this.#o.maxMembers) {
      if (admission) admission.refused++;
      else {
        const detail = `${id}: already ${this.#table.size} members (maxMembers)`;
        this.#report.reject(new MembershipDecodeError('member-limit', detail), source.from);
      }
      return false;
    }
    if (!admission) return true;
    if (admission.left <= 0) {
      admission.refused++;
      return false;
    }
    admission.left--;
    return true;
  }

  #conflict(member: MemberRecord, other: MemberRecord): void {
    const key = `${other.id} ${other.host}:${other.port}@${other.incarnation}`;
    if (this.#conflictsSeen.has(key)) return;
    // Bounded: a flood of forged claims cannot grow it past this; it only re-reports after.
    if (this.#conflictsSeen.size >= 1024) this.#conflictsSeen.clear();
    this.#conflictsSeen.add(key);
    this.#report.conflict(member, other);
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

/** Whether `claimed` puts the member at another address than `known`. */
function movedAway(known: MemberRecord, claimed: MemberRecord): boolean {
  return known.host !== claimed.host || known.port !== claimed.port;
}
