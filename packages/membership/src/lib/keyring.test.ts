import { randomBytes } from 'node:crypto';
import { ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { Keyring } from './keyring.ts';

const aad = Buffer.from('header');

describe('Keyring', () => {
  it('seals with the primary key and opens with any installed key (rotation)', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sender = new Keyring([oldKey]);
    const receiver = new Keyring([oldKey]);
    receiver.addKey(newKey);
    const before = sender.encrypt(Buffer.from('hello'), aad);
    expect(Buffer.from(receiver.decrypt(before, aad)!).toString()).toBe('hello');

    sender.addKey(newKey);
    sender.useKey(newKey);
    const after = sender.encrypt(Buffer.from('rotated'), aad);
    expect(Buffer.from(receiver.decrypt(after, aad)!).toString()).toBe('rotated');
    // Once the old key is gone, only packets under the new key open.
    receiver.useKey(newKey);
    receiver.removeKey(oldKey);
    expect(receiver.decrypt(before, aad)).toBeUndefined();
    expect(receiver.decrypt(after, aad)).toBeDefined();
  });

  it('fails closed on tampering (tried: one flipped ciphertext bit, a different aad, a short body)', () => {
    const ring = new Keyring([randomBytes(32)]);
    const sealed = Buffer.from(ring.encrypt(Buffer.from('payload'), aad));
    const flipped = Buffer.from(sealed);
    flipped[14]! ^= 1;
    expect(ring.decrypt(flipped, aad)).toBeUndefined();
    expect(ring.decrypt(sealed, Buffer.from('other'))).toBeUndefined();
    expect(ring.decrypt(sealed.subarray(0, 10), aad)).toBeUndefined();
  });

  it('rejects bad keys with a ValidationError naming the field', () => {
    // Tried: no keys, a 16-byte key, removing the primary, using an unknown key.
    expect(() => new Keyring([])).toThrow(ValidationError);
    expect(() => new Keyring([randomBytes(16)])).toThrow(/keyring\[0\].*32-byte/);
    const primary = randomBytes(32);
    const ring = new Keyring([primary]);
    expect(() => ring.removeKey(primary)).toThrow(/primary/);
    expect(() => ring.useKey(randomBytes(32))).toThrow(/not installed/);
  });
});
