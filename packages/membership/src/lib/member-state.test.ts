import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyClaim,
  freezeRecord,
  MAX_INCARNATION,
  type MemberClaim,
  type MemberRecord,
  type MemberState,
  nextIncarnation,
  overrides,
  transitionEvent,
} from './member-state.ts';

const record = (
  state: MemberState,
  incarnation: number,
  metadata: Record<string, string> = {},
): MemberRecord => freezeRecord({ id: 'b', host: '127.0.0.1', port: 7000, incarnation, state, metadata });
const alive = (incarnation: number, metadata: Record<string, string> = {}): MemberClaim => ({
  type: 'alive',
  record: record('alive', incarnation, metadata),
});
const suspect = (incarnation: number): MemberClaim => ({ type: 'suspect', id: 'b', incarnation, from: 'c' });
const dead = (incarnation: number): MemberClaim => ({ type: 'dead', id: 'b', incarnation, from: 'c' });
const left = (incarnation: number): MemberClaim => ({ type: 'left', id: 'b', incarnation });

describe('overrides (incarnation merge rules)', () => {
  it.each([
    ['alive', 3, alive(4), true, 'a higher incarnation wins'],
    ['alive', 3, alive(3), false, 'an equal alive is old news'],
    ['alive', 3, alive(2), false, 'a lower incarnation loses'],
    ['alive', 3, suspect(3), true, 'at equal incarnation suspect beats alive'],
    ['alive', 3, suspect(2), false, 'an old suspicion is ignored'],
    ['suspect', 3, alive(3), false, 'alive does not beat suspect at equal incarnation'],
    ['suspect', 3, alive(4), true, 'a refutation (higher incarnation) clears suspicion'],
    ['suspect', 3, suspect(3), false, 'the same suspicion again is a confirmation, not a change'],
    ['suspect', 3, suspect(4), true, 'a suspicion of a newer incarnation replaces the old'],
    ['alive', 3, dead(3), true, 'dead at equal incarnation beats alive'],
    ['suspect', 3, dead(3), true, 'dead beats suspect'],
    ['alive', 3, dead(2), false, 'an old death is ignored'],
    ['alive', 3, left(3), true, 'left beats alive'],
    ['dead', 3, alive(3), false, 'dead is final at equal incarnation'],
    ['dead', 3, suspect(9), false, 'dead is final: a suspicion cannot revive it'],
    ['dead', 3, left(9), false, 'dead is final: left does not replace it'],
    ['dead', 3, alive(4), true, 'only a higher alive (a rejoin) replaces dead'],
    ['left', 3, alive(3), false, 'left is final at equal incarnation'],
    ['left', 3, dead(9), false, 'left is final: a later death changes nothing'],
    ['left', 3, alive(4), true, 'a higher alive after leaving is a rejoin'],
  ] as [
    MemberState,
    number,
    MemberClaim,
    boolean,
    string,
  ][])('%s@%d vs %o → %s (%s)', (state, incarnation, claim, expected) => {
    expect(overrides(record(state, incarnation), claim)).toBe(expected);
  });

  it('accepts only alive news about a member it does not know', () => {
    expect(overrides(undefined, alive(0))).toBe(true);
    expect(overrides(undefined, suspect(5))).toBe(false);
    expect(overrides(undefined, dead(5))).toBe(false);
    expect(overrides(undefined, left(5))).toBe(false);
  });

  it('never goes backwards: every accepted claim raises (incarnation, alive < suspect < dead|left)', () => {
    const claimArb = fc.oneof(
      fc.nat(5).map(alive),
      fc.nat(5).map(suspect),
      fc.nat(5).map(dead),
      fc.nat(5).map(left),
    );
    fc.assert(
      fc.property(fc.array(claimArb, { minLength: 1, maxLength: 12 }), (claims) => {
        let current: MemberRecord | undefined = record('alive', 0);
        for (const claim of claims) {
          if (!overrides(current, claim)) continue;
          const next = applyClaim(current, claim);
          const before = [current!.incarnation, rank(current!.state)] as const;
          const after = [next.incarnation, rank(next.state)] as const;
          expect(after[0] > before[0] || (after[0] === before[0] && after[1] > before[1])).toBe(true);
          current = next;
        }
      }),
    );
  });
});

function rank(state: MemberState): number {
  return state === 'alive' ? 0 : state === 'suspect' ? 1 : 2;
}

describe('transitionEvent', () => {
  it.each([
    [undefined, 'alive', 'joined'],
    ['alive', 'suspect', 'suspect'],
    ['suspect', 'alive', 'recovered'],
    ['suspect', 'dead', 'failed'],
    ['alive', 'left', 'left'],
    ['left', 'alive', 'joined'],
    ['dead', 'alive', 'recovered'],
    ['suspect', 'suspect', undefined],
  ] as const)('%s → %s emits %s', (before, after, event) => {
    expect(transitionEvent(before ? record(before, 1) : undefined, record(after, 2))).toBe(event);
  });

  it('reports a metadata change of an alive member as updated, and no change as nothing', () => {
    expect(transitionEvent(record('alive', 1, { v: '1' }), record('alive', 2, { v: '2' }))).toBe('updated');
    expect(transitionEvent(record('alive', 1, { v: '1' }), record('alive', 2, { v: '1' }))).toBeUndefined();
  });
});

describe('applyClaim', () => {
  it('keeps address and metadata when only the state changes, and freezes the result', () => {
    const before = record('alive', 1, { zone: 'a' });
    const after = applyClaim(before, suspect(1));
    expect(after).toMatchObject({ state: 'suspect', incarnation: 1, metadata: { zone: 'a' }, port: 7000 });
    expect(Object.isFrozen(after)).toBe(true);
  });

  it('refuses to apply a non-alive claim to an unknown member (tried: suspect of a stranger)', () => {
    expect(() => applyClaim(undefined, suspect(1))).toThrow(/unknown member/);
  });
});

describe('nextIncarnation', () => {
  it('beats both the current and the claimed incarnation', () => {
    expect(nextIncarnation(3)).toBe(4);
    expect(nextIncarnation(3, 9)).toBe(10);
    expect(nextIncarnation(9, 3)).toBe(10);
  });

  it('saturates at the u32 ceiling instead of wrapping to 0', () => {
    expect(nextIncarnation(MAX_INCARNATION - 1)).toBe(MAX_INCARNATION);
    expect(nextIncarnation(5, MAX_INCARNATION)).toBe(MAX_INCARNATION);
    expect(nextIncarnation(MAX_INCARNATION)).toBe(MAX_INCARNATION);
  });
});
