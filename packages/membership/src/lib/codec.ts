import { ByteReader, ByteWriter } from './byte-io.ts';
import { MembershipDecodeError } from './errors.ts';
import { ENCRYPTION_OVERHEAD, type Keyring } from './keyring.ts';
import type { MemberClaim, MemberRecord, MemberState } from './member-state.ts';

/** Wire format version; a packet with another version is dropped and counted. */
export const PROTOCOL_VERSION = 1;
const FLAG_ENCRYPTED = 1;

/** Everything the nodes say to each other. Claims ride piggyback on probes and gossip. */
export type Message =
  | { readonly type: 'ping'; readonly seq: number; readonly target: string }
  | {
      readonly type: 'ping-req';
      readonly seq: number;
      readonly target: string;
      readonly host: string;
      readonly port: number;
      readonly wantNack: boolean;
    }
  | { readonly type: 'ack'; readonly seq: number }
  | { readonly type: 'nack'; readonly seq: number }
  | {
      readonly type: 'push-pull';
      readonly join: boolean;
      /** The sender's id, so that its suspicions count as its own. */
      readonly from: string;
      readonly members: readonly MemberRecord[];
    }
  | MemberClaim;

const TYPE_CODES = {
  ping: 1,
  'ping-req': 2,
  ack: 3,
  nack: 4,
  alive: 5,
  suspect: 6,
  dead: 7,
  left: 8,
  'push-pull': 9,
} as const;
const STATE_CODES: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };
const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

/** Encodes one message as `[type u8][length u16][payload]`, ready to be packed into a packet. */
export function encodeMessage(message: Message): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(TYPE_CODES[message.type]).u16(0);
  switch (message.type) {
    case 'ping':
      w.u32(message.seq).str(message.target);
      break;
    case 'ping-req':
      w.u32(message.seq)
        .str(message.target)
        .str(message.host)
        .u16(message.port)
        .u8(message.wantNack ? 1 : 0);
      break;
    case 'ack':
    case 'nack':
      w.u32(message.seq);
      break;
    case 'alive':
      writeRecord(w, message.record);
      break;
    case 'suspect':
    case 'dead':
      w.str(message.id).u32(message.incarnation).str(message.from);
      break;
    case 'left':
      w.str(message.id).u32(message.incarnation);
      break;
    case 'push-pull':
      // Push-pull travels over TCP frames, which have their own (larger) size limit.
      return encodePushPull(message);
  }
  if (w.length - 3 > 0xffff) throw new RangeError('message too large');
  w.patchU16(1, w.length - 3);
  return w.finish();
}

function encodePushPull(message: Extract<Message, { type: 'push-pull' }>): Uint8Array {
  const w = new ByteWriter(1024);
  w.u8(TYPE_CODES['push-pull'])
    .u16(0)
    .u8(message.join ? 1 : 0)
    .str(message.from)
    .u32(message.members.length);
  for (const record of message.members) {
    w.u8(STATE_CODES[record.state]);
    writeRecord(w, record);
  }
  // Frames carry exactly one push-pull, so its length field is informational only (0 if large).
  w.patchU16(1, Math.min(w.length - 3, 0xffff));
  return w.finish();
}

function writeRecord(w: ByteWriter, record: MemberRecord): void {
  w.str(record.id).u32(record.incarnation).str(record.host).u16(record.port);
  const keys = Object.keys(record.metadata);
  w.u8(keys.length);
  for (const key of keys) w.str(key).str(record.metadata[key]!, true);
}

function readRecord(r: ByteReader, state: MemberState): MemberRecord {
  const id = r.str();
  const incarnation = r.u32();
  const host = r.str();
  const port = r.u16();
  const count = r.u8();
  const metadata: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const key = r.str();
    metadata[key] = r.str(true);
  }
  if (id.length === 0 || host.length === 0 || port === 0) {
    throw new MembershipDecodeError('malformed', 'member record without id, host or port');
  }
  return Object.freeze({ id, incarnation, host, port, state, metadata: Object.freeze(metadata) });
}

function decodeMessage(type: number, r: ByteReader): Message {
  switch (type) {
    case TYPE_CODES.ping:
      return { type: 'ping', seq: r.u32(), target: r.str() };
    case TYPE_CODES['ping-req']:
      return {
        type: 'ping-req',
        seq: r.u32(),
        target: r.str(),
        host: r.str(),
        port: r.u16(),
        wantNack: r.u8() === 1,
      };
    case TYPE_CODES.ack:
      return { type: 'ack', seq: r.u32() };
    case TYPE_CODES.nack:
      return { type: 'nack', seq: r.u32() };
    case TYPE_CODES.alive:
      return { type: 'alive', record: readRecord(r, 'alive') };
    case TYPE_CODES.suspect:
      return { type: 'suspect', id: r.str(), incarnation: r.u32(), from: r.str() };
    case TYPE_CODES.dead:
      return { type: 'dead', id: r.str(), incarnation: r.u32(), from: r.str() };
    case TYPE_CODES.left:
      return { type: 'left', id: r.str(), incarnation: r.u32() };
    case TYPE_CODES['push-pull']: {
      const join = r.u8() === 1;
      const from = r.str();
      const count = r.u32();
      const members: MemberRecord[] = [];
      for (let i = 0; i < count; i++) {
        const code = r.u8();
        const state = STATES[code];
        if (!state) throw new MembershipDecodeError('malformed', `unknown member state ${code}`);
        members.push(readRecord(r, state));
      }
      return { type: 'push-pull', join, from, members };
    }
    default:
      throw new MembershipDecodeError('unknown-type', `message type ${type}`);
  }
}

/** What both ends of a cluster must agree on to understand each other. */
export interface CodecOptions {
  /** Packets from another cluster label are dropped; '' means unlabeled. */
  readonly label: string;
  readonly keyring?: Keyring | undefined;
}

/** Bytes a packet spends before its messages: header, message count and encryption. */
export function packetOverhead(options: CodecOptions): number {
  return 3 + Buffer.byteLength(options.label) + 1 + (options.keyring ? ENCRYPTION_OVERHEAD : 0);
}

/**
 * Packs encoded messages into one packet:
 * `[version u8][flags u8][label length u8][label][body]` where body is `[count u8][messages…]`,
 * sealed with the keyring's primary key (header as associated data) when there is one.
 */
export function encodePacket(parts: readonly Uint8Array[], options: CodecOptions): Uint8Array {
  if (parts.length === 0 || parts.length > 255) throw new RangeError(`packet with ${parts.length} messages`);
  const label = Buffer.from(options.label);
  const header = new ByteWriter(3 + label.length)
    .u8(PROTOCOL_VERSION)
    .u8(options.keyring ? FLAG_ENCRYPTED : 0)
    .u8(label.length)
    .bytes(label)
    .finish();
  const body = new ByteWriter(parts.reduce((n, p) => n + p.length, 1)).u8(parts.length);
  for (const part of parts) body.bytes(part);
  const plain = body.finish();
  const sealed = options.keyring ? options.keyring.encrypt(plain, header) : plain;
  return Buffer.concat([header, sealed]);
}

/**
 * Unpacks a packet, checking version, cluster label, encryption and every length. Anything
 * wrong throws a MembershipDecodeError naming the reason; nothing is half-applied.
 */
export function decodePacket(packet: Uint8Array, options: CodecOptions): Message[] {
  const r = new ByteReader(packet);
  const version = r.u8();
  if (version !== PROTOCOL_VERSION) {
    throw new MembershipDecodeError('version', `version ${version}, expected ${PROTOCOL_VERSION}`);
  }
  const flags = r.u8();
  const label = r.str();
  if (label !== options.label) {
    throw new MembershipDecodeError('label', `cluster label "${label}", expected "${options.label}"`);
  }
  const headerEnd = r.position;
  let body: Uint8Array = r.rest();
  const encrypted = (flags & FLAG_ENCRYPTED) !== 0;
  if (options.keyring) {
    if (!encrypted) throw new MembershipDecodeError('unencrypted', 'plain packet in an encrypted cluster');
    const plain = options.keyring.decrypt(body, packet.subarray(0, headerEnd));
    if (!plain) throw new MembershipDecodeError('decrypt', 'no key of the keyring opens the packet');
    body = plain;
  } else if (encrypted) {
    throw new MembershipDecodeError('decrypt', 'encrypted packet but no keyring configured');
  }
  const br = new ByteReader(body);
  const count = br.u8();
  if (count === 0) throw new MembershipDecodeError('malformed', 'packet without messages');
  const messages: Message[] = [];
  for (let i = 0; i < count; i++) {
    const type = br.u8();
    const length = br.u16();
    // A push-pull's length field saturates; it is always the last and only message.
    const payload = type === TYPE_CODES['push-pull'] ? br.rest() : br.bytes(length);
    const mr = new ByteReader(payload);
    messages.push(decodeMessage(type, mr));
    if (mr.remaining !== 0)
      throw new MembershipDecodeError('malformed', `${mr.remaining} stray bytes in a message`);
  }
  if (br.remaining !== 0)
    throw new MembershipDecodeError('malformed', `${br.remaining} bytes after the last message`);
  return messages;
}
