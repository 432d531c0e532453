import { ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { decodeEntry } from './decode-entry.ts';

const good = { id: 'users-1', service: 'users', host: '10.0.0.7', port: 8080, weight: 2 };

describe('decodeEntry', () => {
  it('returns a validated, frozen instance for a good record', () => {
    const decoded = decodeEntry('users', 'users-1', JSON.stringify(good));
    expect(decoded).toEqual({ ok: true, instance: good });
    expect(decoded.ok && Object.isFrozen(decoded.instance)).toBe(true);
  });

  it('rejects a value that is not JSON, saying so', () => {
    // Tried: a truncated JSON object.
    const decoded = decodeEntry('users', 'users-1', '{"id":"users-1",');
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.reason).toMatch(/not JSON/);
  });

  it('rejects a record that breaks the instance contract, naming the field', () => {
    // Tried: port 0.
    const decoded = decodeEntry('users', 'users-1', JSON.stringify({ ...good, port: 0 }));
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.error).toBeInstanceOf(ValidationError);
    expect(!decoded.ok && (decoded.error as ValidationError).field).toBe('port');
  });

  it('rejects a record stored under another service or id', () => {
    // Tried: a users record under the orders prefix, and under another id's key.
    const wrongService = decodeEntry('orders', 'users-1', JSON.stringify(good));
    const wrongId = decodeEntry('users', 'users-2', JSON.stringify(good));
    expect(!wrongService.ok && wrongService.reason).toMatch(/service "users".*"orders"/);
    expect(!wrongId.ok && wrongId.reason).toMatch(/id "users-1".*"users-2"/);
  });
});
