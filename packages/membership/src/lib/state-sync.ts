import { type CodecOptions, decodePacket, encodeMessage, encodePacket, type Message } from './codec.ts';
import { MembershipDecodeError } from './errors.ts';
import type { Admission, ClaimSource } from './member-lifecycle.ts';
import type { MemberClaim, MemberRecord } from './member-state.ts';
import type { StatsCounter } from './stats.ts';
import type { Address, Transport } from './transport.ts';

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

export interface StateSyncOptions {
  readonly localId: string;
  readonly transport: Transport;
  readonly codec: CodecOptions;
  readonly stats: StatsCounter;
  readonly streamTimeoutMs: number;
  /** New members one push-pull may add (our own join's answer: any number up to maxMembers). */
  readonly maxNewMembersPerMerge: number;
  /** Everything this node knows, to send. */
  readonly records: () => readonly MemberRecord[];
  /** Applies one claim from a peer's state. */
  readonly apply: (claim: MemberClaim, source: ClaimSource) => void;
  readonly onDrop: (error: MembershipDecodeError, from: Address) => void;
}

/**
 * Push-pull over TCP: both ends send their full state and merge the other's. Used to join
 * through a seed and, periodically, as anti-entropy with a random member.
 *
 * @example
 * await sync.exchange(seedAddress, true, signal); // join
 */
export class StateSync {
  readonly #o: StateSyncOptions;

  constructor(options: StateSyncOptions) {
    this.#o = options;
  }

  /** Sends our state to `to` and merges the answer; rejects when the peer cannot be reached. */
  async exchange(to: Address, join: boolean, signal: AbortSignal): Promise<void> {
    const { transport, codec, stats } = this.#o;
    const request = encodeState(this.#o.localId, this.#o.records(), join, codec);
    stats.streamsOpened++;
    stats.bytesSent += request.length;
    const answer = await transport.request(to, request, { signal, timeoutMs: this.#o.streamTimeoutMs });
    stats.bytesReceived += answer.length;
    let state: PushPull;
    try {
      state = decodeState(answer, codec);
    } catch (error) {
      if (error instanceof MembershipDecodeError) this.#o.onDrop(error, to);
      throw error;
    }
    this.#merge(state, { from: to, ownJoin: join });
  }

  /** Answers a peer's push-pull with our state (taken before merging theirs). */
  async serve(data: Uint8Array, from: Address): Promise<Uint8Array | undefined> {
    const { codec, stats } = this.#o;
    stats.streamsAccepted++;
    stats.bytesReceived += data.length;
    let state: PushPull;
    try {
      state = decodeState(data, codec);
    } catch (error) {
      if (!(error instanceof MembershipDecodeError)) throw error;
      this.#o.onDrop(error, from);
      return undefined;
    }
    const answer = encodeState(this.#o.localId, this.#o.records(), false, codec);
    stats.bytesSent += answer.length;
    this.#merge(state, { from });
    return answer;
  }

  /** Linear in the state's size; a peer's share of new members is capped unless we joined through it. */
  #merge(state: PushPull, source: ClaimSource & { from: Address }): void {
    const admission: Admission = {
      left: source.ownJoin ? Number.POSITIVE_INFINITY : this.#o.maxNewMembersPerMerge,
      refused: 0,
    };
    for (const claim of stateToClaims(state)) this.#o.apply(claim, { ...source, admission });
    if (admission.refused > 0) {
      const detail = `${admission.refused} new members refused from one push-pull of ${state.members.length}`;
      this.#o.onDrop(new MembershipDecodeError('member-limit', detail), source.from);
    }
  }
}
