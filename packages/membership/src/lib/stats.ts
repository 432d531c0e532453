import type { DropReason } from './errors.ts';

/** Traffic counters of one node since it was created. */
export interface MembershipStats {
  readonly packetsSent: number;
  readonly packetsReceived: number;
  /** Messages, counting each piggybacked one. */
  readonly messagesSent: number;
  readonly messagesReceived: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly streamsOpened: number;
  readonly streamsAccepted: number;
  /** Packets and frames dropped, by reason (malformed, foreign label, wrong key…). */
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
}

/** The mutable counters behind `Membership.stats()`. */
export class StatsCounter {
  packetsSent = 0;
  packetsReceived = 0;
  messagesSent = 0;
  messagesReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  streamsOpened = 0;
  streamsAccepted = 0;
  readonly dropped: Partial<Record<DropReason, number>> = {};

  drop(reason: DropReason): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  snapshot(): MembershipStats {
    return Object.freeze({
      packetsSent: this.packetsSent,
      packetsReceived: this.packetsReceived,
      messagesSent: this.messagesSent,
      messagesReceived: this.messagesReceived,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      streamsOpened: this.streamsOpened,
      streamsAccepted: this.streamsAccepted,
      dropped: Object.freeze({ ...this.dropped }),
    });
  }
}
