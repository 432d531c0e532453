import { type CodecOptions, decodePacket, encodeMessage, encodePacket, type Message } from './codec.ts';
import { MembershipDecodeError } from './errors.ts';
import type { MemberClaim, MemberRecord } from './member-state.ts';

/** A full membership state, as exchanged by push-pull over TCP. */
export type PushPull = Extract<Message, { type: 'push-pull' }>;

/** One frame carrying everything `from` knows, dead and left members included. */
export function encodeState(
  from: string,
  members: readonly MemberRecord[],
  join: boolean,
  codec: CodecOptions,
): Uint8Array {
  return encodePacket([encodeMessage({ type: 'push-pull', join, from, members })], codec);
}

/** Decodes a push-pull frame; anything else is a MembershipDecodeError. */
export function decodeState(data: Uint8Array, codec: CodecOptions): PushPull {
  const messages = decodePacket(data, codec);
  const [first] = messages;
  if (messages.length !== 1 || first?.type !== 'push-pull') {
    throw new MembershipDecodeError('malformed', 'a stream must carry exactly one push-pull');
  }
  return first;
}

/**
 * The claims a peer's state amounts to. A peer's dead are only suspected here, so that we check
 * for ourselves before declaring anyone dead (memberlist does the same); left stays left.
 */
export function stateToClaims(state: PushPull): MemberClaim[] {
  return state.members.map((record): MemberClaim => {
    const { id, incarnation } = record;
    if (record.state === 'alive') return { type: 'alive', record };
    if (record.state === 'left') return { type: 'left', id, incarnation };
    return { type: 'suspect', id, incarnation, from: state.from };
  });
}
