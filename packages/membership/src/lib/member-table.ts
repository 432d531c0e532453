import {
  applyClaim,
  isLive,
  type MemberClaim,
  type MemberEventType,
  type MemberRecord,
  overrides,
  transitionEvent,
} from './member-state.ts';

/** What applying a claim changed. */
export interface MemberChange {
  readonly before: MemberRecord | undefined;
  readonly after: MemberRecord;
  readonly event: MemberEventType | undefined;
}

/**
 * The membership view of one node: its own record and what it believes about every other
 * member, changed only through the incarnation rules of `overrides`. It holds no timers and
 * sends nothing; the node reacts to the changes it returns.
 *
 * @example
 * const table = new MemberTable(self);
 * const change = table.apply({ type: 'alive', record: other }); // { event: 'joined', ... }
 */
export class MemberTable {
  readonly #records = new Map<string, MemberRecord>();
  readonly #localId: string;
  #liveCount = 1;

  constructor(local: MemberRecord) {
    this.#localId = local.id;
    this.#records.set(local.id, local);
  }

  get localId(): string {
    return this.#localId;
  }

  get local(): MemberRecord {
    return this.#records.get(this.#localId)!;
  }

  /** Replaces the local record (refutation, metadata change, leave). */
  setLocal(record: MemberRecord): void {
    this.#count(this.local, -1);
    this.#records.set(this.#localId, record);
    this.#count(record, 1);
  }

  get(id: string): MemberRecord | undefined {
    return this.#records.get(id);
  }

  /** Every record, dead and left ones included until they are reaped. */
  all(): MemberRecord[] {
    return [...this.#records.values()];
  }

  /** Alive and suspect members, the local one included. */
  live(): MemberRecord[] {
    return this.all().filter((record) => isLive(record.state));
  }

  /** How many records are held, dead and left ones and the local one included. */
  get size(): number {
    return this.#records.size;
  }

  /** How many members are alive or suspect, the local one included. */
  get liveCount(): number {
    return this.#liveCount;
  }

  /** Applies news about another member; undefined when it changes nothing. */
  apply(claim: MemberClaim): MemberChange | undefined {
    const id = claim.type === 'alive' ? claim.record.id : claim.id;
    if (id === this.#localId) throw new Error('claims about the local member are the node’s to refute');
    const before = this.#records.get(id);
    if (!overrides(before, claim)) return undefined;
    const after = applyClaim(before, claim);
    this.#count(before, -1);
    this.#records.set(id, after);
    this.#count(after, 1);
    return { before, after, event: transitionEvent(before, after) };
  }

  /** Forgets a member (after the reap delay of a dead or left one). */
  remove(id: string): boolean {
    if (id === this.#localId) return false;
    const record = this.#records.get(id);
    if (!record) return false;
    this.#records.delete(id);
    this.#count(record, -1);
    return true;
  }

  /** Keeps liveCount in step in O(1), so that merging a large state stays linear. */
  #count(record: MemberRecord | undefined, delta: 1 | -1): void {
    if (record && isLive(record.state)) this.#liveCount += delta;
  }
}
