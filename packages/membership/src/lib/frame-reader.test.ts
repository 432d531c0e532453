import { describe, expect, it } from 'vitest';
import { MembershipDecodeError } from './errors.ts';
import { FrameReader, frame } from './frame-reader.ts';

describe('FrameReader', () => {
  it('reassembles a frame split across chunks', () => {
    const framed = Buffer.from(frame(Buffer.from('hello world')));
    const reader = new FrameReader(100);
    expect(reader.push(framed.subarray(0, 2))).toBeUndefined();
    expect(reader.push(framed.subarray(2, 7))).toBeUndefined();
    expect(Buffer.from(reader.push(framed.subarray(7))!).toString()).toBe('hello world');
  });

  it('refuses an oversize frame from its header, before buffering it (tried: 1 MiB declared, 1 KiB limit)', () => {
    const reader = new FrameReader(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1024 * 1024);
    expect(() => reader.push(header)).toThrow(MembershipDecodeError);
  });
});
