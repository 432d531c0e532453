const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const isOpen = (byte: number) => byte === 0x5b || byte === 0x7b; // [ {
const isClose = (byte: number) => byte === 0x5d || byte === 0x7d; // ] }

/**
 * Counts the top-level entries of a JSON array as its bytes stream in, without parsing it: a
 * list longer than the cap can be refused after its first bytes past the cap, not after the
 * whole answer was read and parsed. Counts separators at depth 1 outside strings, so it is
 * exact for valid JSON and harmless for invalid JSON (the parser rejects that later).
 */
export class ArrayEntryCounter {
  #depth = 0;
  #inString = false;
  #escaped = false;
  #separators = 0;
  #sawValue = false;

  /** Entries seen so far (a lower bound until the array closes). */
  get entries(): number {
    return this.#sawValue ? this.#separators + 1 : 0;
  }

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === BACKSLASH) this.#escaped = true;
        else if (byte === QUOTE) this.#inString = false;
        continue;
      }
      if (this.#depth === 1 && byte > 0x20 && !isClose(byte)) this.#sawValue = true;
      if (byte === QUOTE) this.#inString = true;
      else if (isOpen(byte)) this.#depth++;
      else if (isClose(byte)) this.#depth--;
      else if (byte === COMMA && this.#depth === 1) this.#separators++;
    }
  }
}
