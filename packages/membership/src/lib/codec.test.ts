import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePacket, encodeMessage, encodePacket, type Message, packetOverhead } from './codec.ts';
import { MembershipDecodeError } from './errors.ts';
import { Keyring } from './keyring.ts';
import { freezeRecord } from './member-state.ts';

const plain = { label: 'prod' };
const member = freezeRecord({
  id: 'cache-1',
  host: '10.0.0.7',
  port: 7946,
  incarnation: 42,
  state: 'suspect',
  metadata: { service: 'cache', port: '6379', note: 'ünïcode ✓' },
});
const messages: Message[] = [
  { type: 'ping', seq: 1, target: 'b' },
  { type: 'ping-req', seq: 0xffffffff, target: 'b', host: '::1', port: 65535, wantNack: true },
  { type: 'ack', seq: 7 },
  { type: 'nack', seq: 8 },
  { type: 'alive', record: { ...member, state: 'alive' } },
  { type: 'suspect', id: 'b', incarnation: 3, from: 'c' },
  { type: 'dead', id: 'b', incarnation: 3, from: 'c' },
  { type: 'left', id: 'b', incarnation: 4 },
  { type: 'push-pull', join: true, from: 'a', members: [member, { ...member, id: 'x', state: 'left' }] },
];

function decodeError(fn: () => unknown): MembershipDecodeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MembershipDecodeError) return error;
    throw error;
  }
  throw new Error('expected a decode error');
}

describe('codec', () => {
  it.each(messages.map((m) => [m.type, m] as const))('round-trips %s', (_type, message) => {
    const packet = encodePacket([encodeMessage(message)], plain);
    expect(decodePacket(packet, plain)).toEqual([message]);
  });

  it('packs several messages into one compound packet', () => {
    const parts = messages.slice(0, 8).map(encodeMessage);
    expect(decodePacket(encodePacket(parts, plain), plain)).toEqual(messages.slice(0, 8));
  });

  it('is compact: a ping with a short name fits in a couple dozen bytes', () => {
    const packet = encodePacket([encodeMessage({ type: 'ping', seq: 1, target: 'node-1' })], { label: '' });
    expect(packet.length).toBeLessThanOrEqual(20);
  });

  it('rejects every truncation of a valid packet as truncated or malformed (tried: each prefix)', () => {
    const packet = encodePacket(messages.slice(0, 8).map(encodeMessage), plain);
    for (let n = 0; n < packet.length; n++) {
      const error = decodeError(() => decodePacket(packet.subarray(0, n), plain));
      expect(['truncated', 'malformed']).toContain(error.reason);
    }
  });

  it('rejects trailing garbage after the last message (tried: 3 extra bytes)', () => {
    const packet = encodePacket([encodeMessage({ type: 'ack', seq: 1 })], plain);
    const error = decodeError(() => decodePacket(Buffer.concat([packet, Buffer.from([1, 2, 3])]), plain));
    expect(error.reason).toBe('malformed');
  });

  it('drops a packet of another cluster label (tried: "staging" in a "prod" cluster)', () => {
    const packet = encodePacket([encodeMessage({ type: 'ack', seq: 1 })], { label: 'staging' });
    expect(decodeError(() => decodePacket(packet, plain)).reason).toBe('label');
  });

  it('drops an unknown protocol version (tried: version 9)', () => {
    const packet = Buffer.from(encodePacket([encodeMessage({ type: 'ack', seq: 1 })], plain));
    packet[0] = 9;
    expect(decodeError(() => decodePacket(packet, plain)).reason).toBe('version');
  });

  it('drops an unknown message type (tried: type 200)', () => {
    const packet = encodePacket([Uint8Array.from([200, 0, 0])], plain);
    expect(decodeError(() => decodePacket(packet, plain)).reason).toBe('unknown-type');
  });

  it('drops a member record with an empty id (tried: alive for "")', () => {
    const bad = encodeMessage({ type: 'alive', record: { ...member, id: '' } });
    expect(decodeError(() => decodePacket(encodePacket([bad], plain), plain)).reason).toBe('malformed');
  });

  it('never throws anything but a decode error on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodePacket(bytes, plain);
        } catch (error) {
          expect(error).toBeInstanceOf(MembershipDecodeError);
        }
      }),
    );
  });

  it('never throws anything but a decode error on single-byte corruptions of a valid packet', () => {
    const packet = encodePacket(messages.map(encodeMessage).slice(0, 8), plain);
    fc.assert(
      fc.property(fc.nat(packet.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const copy = Buffer.from(packet);
        copy[at] = value;
        try {
          decodePacket(copy, plain);
        } catch (error) {
          expect(error).toBeInstanceOf(MembershipDecodeError);
        }
      }),
    );
  });

  describe('encryption', () => {
    const key1 = randomBytes(32);
    const key2 = randomBytes(32);
    const sealed = { label: 'prod', keyring: new Keyring([key1]) };

    it('round-trips sealed packets and hides their content', () => {
      const message: Message = { type: 'left', id: 'very-recognisable-name', incarnation: 1 };
      const packet = encodePacket([encodeMessage(message)], sealed);
      expect(Buffer.from(packet).includes(Buffer.from('very-recognisable-name'))).toBe(false);
      expect(decodePacket(packet, sealed)).toEqual([message]);
      expect(packetOverhead(sealed)).toBeGreaterThan(packetOverhead(plain));
    });

    it('rejects a packet sealed with another key (tried: a second random key)', () => {
      const packet = encodePacket([encodeMessage({ type: 'ack', seq: 1 })], sealed);
      const other = { label: 'prod', keyring: new Keyring([key2]) };
      expect(decodeError(() => decodePacket(packet, other)).reason).toBe('decrypt');
    });

    it('rejects plain packets in an encrypted cluster and sealed ones in a plain cluster', () => {
      const clear = encodePacket([encodeMessage({ type: 'ack', seq: 1 })], plain);
      expect(decodeError(() => decodePacket(clear, sealed)).reason).toBe('unencrypted');
      const secret = encodePacket([encodeMessage({ type: 'ack', seq: 1 })], sealed);
      expect(decodeError(() => decodePacket(secret, plain)).reason).toBe('decrypt');
    });

    it('authenticates the header: a relabelled sealed packet does not open (tried: label byte flipped)', () => {
      const packet = Buffer.from(encodePacket([encodeMessage({ type: 'ack', seq: 1 })], sealed));
      packet[3] = 'P'.charCodeAt(0);
      const relabelled = { label: 'Prod', keyring: new Keyring([key1]) };
      expect(decodeError(() => decodePacket(packet, relabelled)).reason).toBe('decrypt');
    });
  });
});
