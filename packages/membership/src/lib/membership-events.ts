import type { DropReason, MembershipDecodeError } from './errors.ts';
import type { MemberRecord } from './member-state.ts';
import type { Address } from './transport.ts';

/** A member as the node reports it: a frozen record. */
export type Member = MemberRecord;

/** Payload of every member event: the member now, and as it was before the change. */
export interface MemberEvent {
  readonly member: Member;
  readonly previous: Member | undefined;
}

/** A packet or frame the node refused. */
export interface DroppedPacket {
  readonly reason: DropReason;
  readonly from: Address;
  readonly error: MembershipDecodeError;
}

/**
 * Two nodes claim one name: an `alive` for a live member (or for this node itself) arrived with
 * another address. The record held is kept and the other claim ignored, so neither side can
 * take the name over by raising its incarnation: a misconfiguration, or a spoofed packet.
 */
export interface NameConflict {
  /** The record this node keeps: the member as known, or this node itself. */
  readonly member: Member;
  /** The ignored claim, with the other claimant's address. */
  readonly other: Member;
}

/**
 * Events of a Membership node. `joined`: a new member (or one that left and came back);
 * `updated`: new metadata or address; `suspect`: probes failed, refutation pending; `failed`:
 * the suspicion timed out; `left`: announced departure; `recovered`: a suspect or failed member
 * proved alive with a higher incarnation; `dropped`: a malformed or foreign packet, or an implausible claim, was ignored; `conflict`: two nodes
 * claim one name (reported once per claimant address and incarnation).
 */
export type MembershipEvents = {
  joined: MemberEvent;
  updated: MemberEvent;
  suspect: MemberEvent;
  failed: MemberEvent;
  left: MemberEvent;
  recovered: MemberEvent;
  dropped: DroppedPacket;
  conflict: NameConflict;
};
