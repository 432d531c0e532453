import type { BroadcastQueue } from './broadcast-queue.ts';
import {
  type CodecOptions,
  decodePacket,
  encodeMessage,
  encodePacket,
  type Message,
  packetOverhead,
} from './codec.ts';
import { MembershipDecodeError } from './errors.ts';
import type { StatsCounter } from './stats.ts';
import type { Address, Transport } from './transport.ts';

/**
 * The datagram side of a node: every outgoing message takes as much queued gossip with it as
 * fits under `maxPacketBytes` (SWIM's piggybacking), and every incoming packet is size-checked
 * and decoded, or dropped and counted. Nothing malformed gets past `receive`.
 *
 * @example
 * channel.send(peer, { type: 'ping', seq, target: peer.id });
 * const messages = channel.receive(data, from); // undefined when dropped
 */
export class PacketChannel {
  readonly #transport: Transport;
  readonly #codec: CodecOptions;
  readonly #broadcasts: BroadcastQueue;
  readonly #stats: StatsCounter;
  readonly #maxPacketBytes: number;
  readonly #onDrop: (error: MembershipDecodeError, from: Address) => void;
  readonly #overhead: number;
  closed = false;

  constructor(
    transport: Transport,
    codec: CodecOptions,
    broadcasts: BroadcastQueue,
    stats: StatsCounter,
    maxPacketBytes: number,
    onDrop: (error: MembershipDecodeError, from: Address) => void,
  ) {
    this.#transport = transport;
    this.#codec = codec;
    this.#broadcasts = broadcasts;
    this.#stats = stats;
    this.#maxPacketBytes = maxPacketBytes;
    this.#onDrop = onDrop;
    this.#overhead = packetOverhead(codec);
  }

  /** Sends `message` with as much queued gossip as fits in one packet. */
  send(to: Address, message: Message): void {
    const primary = encodeMessage(message);
    this.sendParts(to, [primary, ...this.#broadcasts.take(this.budget(primary.length), 253)]);
  }

  /** Sends only queued gossip; false when there was none to send. */
  gossip(to: Address): boolean {
    const parts = this.#broadcasts.take(this.budget(0));
    if (parts.length === 0) return false;
    this.sendParts(to, parts);
    return true;
  }

  /** Sends encoded messages as one packet. */
  sendParts(to: Address, parts: Uint8Array[]): void {
    if (this.closed) return;
    const packet = encodePacket(parts, this.#codec);
    this.#stats.packetsSent++;
    this.#stats.messagesSent += parts.length;
    this.#stats.bytesSent += packet.length;
    if (!this.#transport.sendPacket(to, packet)) this.#stats.drop('send-failed');
  }

  /** Decodes a received packet; undefined (counted, reported) when it is not a valid one. */
  receive(data: Uint8Array, from: Address): Message[] | undefined {
    if (this.closed) return undefined;
    this.#stats.packetsReceived++;
    this.#stats.bytesReceived += data.length;
    try {
      if (data.length > this.#maxPacketBytes) {
        throw new MembershipDecodeError('oversize', `packet of ${data.length} bytes`);
      }
      const messages = decodePacket(data, this.#codec);
      this.#stats.messagesReceived += messages.length;
      return messages;
    } catch (error) {
      if (!(error instanceof MembershipDecodeError)) throw error;
      this.#onDrop(error, from);
      return undefined;
    }
  }

  /** Bytes left for gossip once `used` bytes of messages are in a packet (plus each one's count byte). */
  budget(used: number): number {
    return this.#maxPacketBytes - this.#overhead - used;
  }
}
