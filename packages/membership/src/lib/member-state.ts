/** Where a member stands, as far as one node knows. `left` is a graceful, announced `dead`. */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/**
 * One member of the cluster as this node sees it. Records are frozen values: every change of
 * state, incarnation or metadata makes a new record.
 */
export interface MemberRecord {
  /** The member's unique name. */
  readonly id: string;
  /** Where its UDP and TCP listeners are bound. */
  readonly host: string;
  readonly port: number;
  /** Bumped only by the member itself: to refute suspicion, to change metadata, to leave. */
  readonly incarnation: number;
  readonly state: MemberState;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A piece of membership news as it travels in gossip: what some node claims about `id`. */
export type MemberClaim =
  | { readonly type: 'alive'; readonly record: MemberRecord }
  | { readonly type: 'suspect'; readonly id: string; readonly incarnation: number; readonly from: string }
  | { readonly type: 'dead'; readonly id: string; readonly incarnation: number; readonly from: string }
  | { readonly type: 'left'; readonly id: string; readonly incarnation: number };

/**
 * Incarnations are u32 on the wire. Bumping one saturates here and never wraps: a wrap would
 * turn a node's refutation into incarnation 0, which loses to everything (see `nextIncarnation`).
 */
export const MAX_INCARNATION = 0xffff_ffff;

/**
 * The incarnation a member takes to beat `claimed` (and its own `current`): one more than the
 * larger of the two, saturating at MAX_INCARNATION. Claims far above what is known are refused
 * before they get here (`maxIncarnationJump`), so the ceiling takes 65,536 accepted steps
 * by default.
 */
export function nextIncarnation(current: number, claimed = current): number {
  return Math.min(MAX_INCARNATION, Math.max(current, claimed) + 1);
}

/** The member a claim is about. */
export function claimId(claim: MemberClaim): string {
  return claim.type === 'alive' ? claim.record.id : claim.id;
}

/** The incarnation a claim carries. */
export function claimIncarnation(claim: MemberClaim): number {
  return claim.type === 'alive' ? claim.record.incarnation : claim.incarnation;
}

/** Alive and suspect members are part of the cluster; dead and left ones are on their way out. */
export function isLive(state: MemberState): boolean {
  return state === 'alive' || state === 'suspect';
}

/**
 * Whether `claim` should replace what we know (`current`), by SWIM's incarnation rules:
 * a higher incarnation wins; at equal incarnation suspect beats alive; dead and left are final
 * and only an `alive` with a higher incarnation (a rejoin) replaces them. News about a member we
 * do not know is taken only when it says `alive`: a suspicion or death of a stranger tells us
 * nothing we could use (memberlist does the same).
 */
export function overrides(current: MemberRecord | undefined, claim: MemberClaim): boolean {
  if (!current) return claim.type === 'alive';
  const incarnation = claim.type === 'alive' ? claim.record.incarnation : claim.incarnation;
  if (current.state === 'dead' || current.state === 'left') {
    return claim.type === 'alive' && incarnation > current.incarnation;
  }
  switch (claim.type) {
    case 'alive':
      return incarnation > current.incarnation;
    case 'suspect':
      return (
        incarnation > current.incarnation ||
        (incarnation === current.incarnation && current.state === 'alive')
      );
    case 'dead':
    case 'left':
      return incarnation >= current.incarnation;
  }
}

/** The record that results from applying an overriding claim to `current`. */
export function applyClaim(current: MemberRecord | undefined, claim: MemberClaim): MemberRecord {
  if (claim.type === 'alive') return freezeRecord({ ...claim.record, state: 'alive' });
  if (!current) throw new Error(`cannot apply ${claim.type} to unknown member ${claim.id}`);
  const state: MemberState = claim.type;
  return freezeRecord({ ...current, incarnation: claim.incarnation, state });
}

/** A frozen record with a frozen copy of its metadata. */
export function freezeRecord(record: MemberRecord): MemberRecord {
  return Object.freeze({
    id: record.id,
    host: record.host,
    port: record.port,
    incarnation: record.incarnation,
    state: record.state,
    metadata: Object.isFrozen(record.metadata) ? record.metadata : Object.freeze({ ...record.metadata }),
  });
}

/** True when both hold the same keys with the same values. */
export function sameMetadata(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  return ak.every((key) => a[key] === b[key]);
}

/** The membership event a transition from `before` to `after` means, if any. */
export type MemberEventType = 'joined' | 'updated' | 'suspect' | 'failed' | 'left' | 'recovered';

export function transitionEvent(
  before: MemberRecord | undefined,
  after: MemberRecord,
): MemberEventType | undefined {
  switch (after.state) {
    case 'alive':
      if (!before || before.state === 'left') return 'joined';
      if (before.state === 'suspect' || before.state === 'dead') return 'recovered';
      return sameMetadata(before.metadata, after.metadata) &&
        before.host === after.host &&
        before.port === after.port
        ? undefined
        : 'updated';
    case 'suspect':
      return before?.state === 'suspect' ? undefined : 'suspect';
    case 'dead':
      return 'failed';
    case 'left':
      return 'left';
  }
}
