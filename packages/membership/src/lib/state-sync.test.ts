import { describe, expect, it } from 'vitest';
import { encodeMessage, encodePacket } from './codec.ts';
import { MembershipDecodeError } from './errors.ts';
import { freezeRecord, type MemberState } from './member-state.ts';
import { decodeState, encodeState, stateToClaims } from './state-sync.ts';

const rec = (id: string, state: MemberState) =>
  freezeRecord({ id, host: '127.0.0.1', port: 7000, incarnation: 3, state, metadata: {} });
const codec = { label: '' };

describe('push-pull state', () => {
  it('round-trips a full state, dead and left members included', () => {
    const members = [rec('a', 'alive'), rec('b', 'suspect'), rec('c', 'dead'), rec('d', 'left')];
    const state = decodeState(encodeState('a', members, true, codec), codec);
    expect(state).toMatchObject({ join: true, from: 'a', members });
  });

  it('turns a peer’s dead into a suspicion from that peer, and keeps alive and left as they are', () => {
    const claims = stateToClaims({
      type: 'push-pull',
      join: false,
      from: 'peer',
      members: [rec('a', 'alive'), rec('b', 'suspect'), rec('c', 'dead'), rec('d', 'left')],
    });
    expect(claims.map((c) => c.type)).toEqual(['alive', 'suspect', 'suspect', 'left']);
    expect(claims[2]).toEqual({ type: 'suspect', id: 'c', incarnation: 3, from: 'peer' });
  });

  it('rejects a stream that carries anything but one push-pull (tried: a ping)', () => {
    const ping = encodePacket([encodeMessage({ type: 'ping', seq: 1, target: 'a' })], codec);
    expect(() => decodeState(ping, codec)).toThrow(MembershipDecodeError);
  });
});
