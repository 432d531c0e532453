import { MembershipDecodeError } from './errors.ts';

/** `[length u32 big-endian][payload]`: the framing of every TCP exchange. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/**
 * Collects stream chunks until one whole frame is in. The declared length is checked against
 * `maxBytes` before anything is buffered, so a peer cannot make us hold more than that.
 */
export class FrameReader {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #have = 0;
  #need = -1;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Adds a chunk; returns the frame's payload once complete. Throws on an oversize frame. */
  push(chunk: Buffer): Uint8Array | undefined {
    this.#chunks.push(chunk);
    this.#have += chunk.length;
    if (this.#need < 0 && this.#have >= 4) {
      const head = Buffer.concat(this.#chunks);
      this.#chunks = [head];
      this.#need = head.readUInt32BE(0);
      if (this.#need > this.#maxBytes) {
        throw new MembershipDecodeError('oversize', `frame of ${this.#need} bytes exceeds ${this.#maxBytes}`);
      }
    }
    if (this.#need >= 0 && this.#have >= 4 + this.#need) {
      const all = Buffer.concat(this.#chunks);
      return all.subarray(4, 4 + this.#need);
    }
    return undefined;
  }
}
