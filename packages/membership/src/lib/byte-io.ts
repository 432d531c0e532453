import { MembershipDecodeError } from './errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A growable big-endian byte writer for the wire codec. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#len;
  }

  u8(value: number): this {
    this.#reserve(1);
    this.#view.setUint8(this.#len, value);
    this.#len += 1;
    return this;
  }

  u16(value: number): this {
    this.#reserve(2);
    this.#view.setUint16(this.#len, value);
    this.#len += 2;
    return this;
  }

  u32(value: number): this {
    this.#reserve(4);
    this.#view.setUint32(this.#len, value);
    this.#len += 4;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.#reserve(data.length);
    this.#buf.set(data, this.#len);
    this.#len += data.length;
    return this;
  }

  /** A string with a u8 (short) or u16 (long) byte-length prefix. */
  str(value: string, long = false): this {
    const data = encoder.encode(value);
    const max = long ? 0xffff : 0xff;
    if (data.length > max) throw new RangeError(`string of ${data.length} bytes exceeds ${max}`);
    if (long) this.u16(data.length);
    else this.u8(data.length);
    return this.bytes(data);
  }

  /** Overwrites a u16 written earlier (for length prefixes known only afterwards). */
  patchU16(at: number, value: number): void {
    this.#view.setUint16(at, value);
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

/** A bounds-checked reader: running past the end throws a `truncated` decode error. */
export class ByteReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  get position(): number {
    return this.#pos;
  }

  u8(): number {
    this.#need(1);
    return this.#view.getUint8(this.#pos++);
  }

  u16(): number {
    this.#need(2);
    const value = this.#view.getUint16(this.#pos);
    this.#pos += 2;
    return value;
  }

  u32(): number {
    this.#need(4);
    const value = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return value;
  }

  bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  str(long = false): string {
    const n = long ? this.u16() : this.u8();
    try {
      return decoder.decode(this.bytes(n));
    } catch (error) {
      if (error instanceof MembershipDecodeError) throw error;
      throw new MembershipDecodeError('malformed', 'string is not valid UTF-8');
    }
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  #need(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      throw new MembershipDecodeError(
        'truncated',
        `needed ${n} bytes at offset ${this.#pos} of ${this.#buf.length}`,
      );
    }
  }
}
