import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ValidationError } from '@switchyard/core';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** What encryption adds to every packet: nonce and authentication tag. */
export const ENCRYPTION_OVERHEAD = NONCE_BYTES + TAG_BYTES;

/**
 * Shared AES-256-GCM keys of a cluster. Packets are sealed with the primary key and opened with
 * any key of the ring, so keys rotate without a flag day: install the new key everywhere, make
 * it primary everywhere, then remove the old one (memberlist's keyring).
 *
 * @example
 * const keyring = new Keyring([Buffer.from(process.env.GOSSIP_KEY!, 'base64')]);
 * const node = await Membership.create({ name: 'a', keyring, ... });
 */
export class Keyring {
  #keys: Uint8Array[];

  /** @param keys 32-byte keys; the first one is the primary. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new ValidationError('keyring', 'expected at least one key');
    this.#keys = keys.map((key, index) => checkKey(key, `keyring[${index}]`));
  }

  /** The keys, primary first (copies). */
  get keys(): readonly Uint8Array[] {
    return this.#keys.map((key) => Uint8Array.from(key));
  }

  /** Adds a key for decryption; it does not become primary. */
  addKey(key: Uint8Array): void {
    checkKey(key, 'key');
    if (this.#indexOf(key) < 0) this.#keys.push(Uint8Array.from(key));
  }

  /** Makes an installed key the primary one. */
  useKey(key: Uint8Array): void {
    const index = this.#indexOf(checkKey(key, 'key'));
    if (index < 0) throw new ValidationError('key', 'is not installed; addKey it first');
    const [primary] = this.#keys.splice(index, 1);
    this.#keys.unshift(primary!);
  }

  /** Removes a key; the primary key cannot be removed. */
  removeKey(key: Uint8Array): void {
    const index = this.#indexOf(checkKey(key, 'key'));
    if (index === 0) throw new ValidationError('key', 'is the primary key; useKey another one first');
    if (index > 0) this.#keys.splice(index, 1);
  }

  /** Seals `plain` with the primary key; `aad` is authenticated but not encrypted. */
  encrypt(plain: Uint8Array, aad: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys[0]!, nonce);
    cipher.setAAD(aad);
    const body = cipher.update(plain);
    const final = cipher.final();
    return Buffer.concat([nonce, body, final, cipher.getAuthTag()]);
  }

  /** Opens a sealed body with whichever key fits; undefined when none does. */
  decrypt(sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
    if (sealed.length < ENCRYPTION_OVERHEAD) return undefined;
    const nonce = sealed.subarray(0, NONCE_BYTES);
    const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    for (const key of this.#keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce);
        decipher.setAAD(aad);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        // Wrong key: try the next one.
      }
    }
    return undefined;
  }

  #indexOf(key: Uint8Array): number {
    return this.#keys.findIndex((k) => Buffer.compare(k, key) === 0);
  }
}

function checkKey(key: Uint8Array, field: string): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new ValidationError(
      field,
      `expected a 32-byte key (AES-256), got ${key?.length ?? 'nothing'} bytes`,
    );
  }
  return key;
}
