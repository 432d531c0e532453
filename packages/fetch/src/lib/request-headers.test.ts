import { ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { type CallOverrides, prepareHeaders } from './request-headers.ts';

describe('prepareHeaders', () => {
  it('copies every header shape undici accepts, adds the logical Host, and takes out the overrides', () => {
    const shapes: unknown[] = [
      { Accept: 'json', 'X-Switchyard-Hash-Key': 'user-42', 'x-switchyard-idempotent': 'false' },
      ['accept', 'json', 'x-switchyard-hash-key', 'user-42', 'x-switchyard-idempotent', 'false'],
      [
        ['accept', 'json'],
        ['x-switchyard-hash-key', 'user-42'],
        ['x-switchyard-idempotent', 'false'],
      ],
      new Map([
        ['accept', 'json'],
        ['x-switchyard-hash-key', 'user-42'],
        ['x-switchyard-idempotent', 'false'],
      ]),
    ];
    for (const headers of shapes) {
      const overrides: CallOverrides = {};
      expect(prepareHeaders(headers, 'users:8080', overrides)).toEqual({
        accept: 'json',
        host: 'users:8080',
      });
      expect(overrides).toEqual({ hashKey: 'user-42', idempotent: false });
    }
  });

  it("keeps the caller's own Host header and repeated headers", () => {
    const overrides: CallOverrides = {};
    const out = prepareHeaders(
      ['Host', 'users.internal', 'cookie', 'a=1', 'cookie', 'b=2'],
      'users',
      overrides,
    );
    expect(out).toEqual({ host: 'users.internal', cookie: ['a=1', 'b=2'] });
  });

  it('reads the timeout and rejects bad or unknown overrides', () => {
    const overrides: CallOverrides = {};
    prepareHeaders({ 'x-switchyard-timeout-ms': '250' }, 'users', overrides);
    expect(overrides.timeoutMs).toBe(250);
    for (const headers of [
      { 'x-switchyard-timeout-ms': '0' },
      { 'x-switchyard-timeout-ms': '1.5' },
      { 'x-switchyard-idempotent': 'yes' },
      { 'x-switchyard-hash-key': '' },
      { 'x-switchyard-hashkey': 'typo' },
    ]) {
      expect(() => prepareHeaders(headers, 'users', {})).toThrow(ValidationError);
    }
  });
});
