import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import {
  partitionInstances,
  validateInstance,
  validateInstanceId,
  validateServiceName,
  validateTtl,
} from './validation.ts';

const good = { id: 'users-1', service: 'users', host: '127.0.0.1', port: 8080 };

function fieldOf(input: unknown): string {
  try {
    validateInstance(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).field;
  }
  throw new Error('expected a ValidationError');
}

describe('validateInstance', () => {
  it('returns a frozen copy without unknown keys', () => {
    const instance = validateInstance({ ...good, weight: 2, metadata: { zone: 'a' }, extra: true });
    expect(instance).toEqual({ ...good, weight: 2, metadata: { zone: 'a' } });
    expect(Object.isFrozen(instance)).toBe(true);
    expect(Object.isFrozen(instance.metadata)).toBe(true);
  });

  it.each([
    ['a non-object', 'users', 'instance'],
    ['null', null, 'instance'],
    ['an array', [good], 'instance'],
    ['an empty id', { ...good, id: '' }, 'id'],
    ['an id with a slash', { ...good, id: 'a/b' }, 'id'],
    ['a numeric id', { ...good, id: 7 }, 'id'],
    ['an empty service', { ...good, service: '' }, 'service'],
    ['a service with spaces', { ...good, service: 'my users' }, 'service'],
    ['an empty host', { ...good, host: '' }, 'host'],
    ['a missing host', { id: 'x', service: 'users', port: 1 }, 'host'],
    ['port 0', { ...good, port: 0 }, 'port'],
    ['port 65536', { ...good, port: 65536 }, 'port'],
    ['a fractional port', { ...good, port: 80.5 }, 'port'],
    ['a string port', { ...good, port: '80' }, 'port'],
    ['weight 0', { ...good, weight: 0 }, 'weight'],
    ['a negative weight', { ...good, weight: -1 }, 'weight'],
    ['an infinite weight', { ...good, weight: Number.POSITIVE_INFINITY }, 'weight'],
    ['a NaN weight', { ...good, weight: Number.NaN }, 'weight'],
    ['an unknown status', { ...good, status: 'UP' }, 'status'],
    ['a non-boolean secure', { ...good, secure: 'yes' }, 'secure'],
    ['an empty zone', { ...good, zone: '' }, 'zone'],
    ['metadata as an array', { ...good, metadata: ['a'] }, 'metadata'],
    ['a numeric metadata value', { ...good, metadata: { version: 2 } }, 'metadata.version'],
  ])('rejects %s, naming the field', (_what, input, field) => {
    expect(fieldOf(input)).toBe(field);
  });

  it('names the service and instance on the error', () => {
    try {
      validateInstance({ ...good, port: 0 });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ field: 'port', service: 'users', instanceId: 'users-1' });
    }
  });

  it('accepts every documented status', () => {
    for (const status of ['up', 'down', 'starting', 'out_of_service', 'unknown']) {
      expect(validateInstance({ ...good, status }).status).toBe(status);
    }
  });
});

describe('validateServiceName', () => {
  it('accepts dotted and dashed names and rejects path characters', () => {
    expect(validateServiceName('billing.v2-eu_1')).toBe('billing.v2-eu_1');
    expect(() => validateServiceName('a/b')).toThrow(ValidationError);
    expect(() => validateServiceName('x'.repeat(254))).toThrow(ValidationError);
  });
});

describe('validateInstanceId', () => {
  it('accepts ids of 1..256 characters without whitespace or slash', () => {
    expect(validateInstanceId('users-1:8080')).toBe('users-1:8080');
    expect(validateInstanceId('x'.repeat(256))).toBe('x'.repeat(256));
  });

  it.each([
    ['an empty id', ''],
    ['an id with a slash', 'a/b'],
    ['an id with a space', 'a b'],
    ['an id of 257 characters', 'x'.repeat(257)],
    ['a number', 7],
    ['nothing', undefined],
  ])('rejects %s, naming the field it was given', (_label, id) => {
    expect(() => validateInstanceId(id)).toThrow(/invalid id:/);
    expect(() => validateInstanceId(id, 'instanceId')).toThrow(/invalid instanceId:/);
  });
});

describe('partitionInstances', () => {
  it('keeps the good entries and reports each bad one with its index', () => {
    const { instances, rejected } = partitionInstances([good, { ...good, id: 'b', port: -1 }, 'junk']);
    expect(instances.map((i) => i.id)).toEqual(['users-1']);
    expect(rejected.map((r) => [r.index, r.error.field])).toEqual([
      [1, 'port'],
      [2, 'instance'],
    ]);
  });
});

describe('validateInstance: hosts must survive http://host:port', () => {
  it.each([
    ['a host with a port in it', '127.0.0.1:22'],
    ['an unclosed bracket', '[::1'],
    ['a trailing backslash', '127.0.0.1\\'],
    ['a space', 'a b'],
    ['user info', 'user@evil.example'],
    ['a fragment', 'host#x'],
    ['a query', 'host?x'],
    ['a path', 'host/x'],
    ['IPv4 shorthand the parser rewrites', '127.1'],
    ['a non-ASCII name the parser rewrites', 'bücher.example'],
    ['an IPv6 zone id', 'fe80::1%eth0'],
    ['a bracketed name that is not IPv6', '[localhost]'],
    ['a control character', 'host\u0000'],
  ])('rejects %s', (_what, host) => {
    expect(fieldOf({ ...good, host })).toBe('host');
  });

  it('accepts names, IPv4 and IPv6 (bare or bracketed, stored bare as originOf expects)', () => {
    expect(validateInstance({ ...good, host: 'users-1.internal' }).host).toBe('users-1.internal');
    expect(validateInstance({ ...good, host: 'Users-1.Internal' }).host).toBe('Users-1.Internal');
    expect(validateInstance({ ...good, host: '10.0.0.7' }).host).toBe('10.0.0.7');
    expect(validateInstance({ ...good, host: '::1' }).host).toBe('::1');
    expect(validateInstance({ ...good, host: '[::1]' }).host).toBe('::1');
    expect(validateInstance({ ...good, host: 'fe80:0:0:0::1' }).host).toBe('fe80:0:0:0::1');
    expect(validateInstance({ ...good, host: 'my_host', port: 80 }).host).toBe('my_host');
  });
});

describe('validateInstance: ids and metadata', () => {
  it.each([
    ['a NUL', 'users\u0000-1'],
    ['an escape sequence', 'users-1\u001b[31m'],
    ['a right-to-left override', 'users-\u202e1-resu'],
    ['a zero-width space', 'users\u200b-1'],
    ['a lone surrogate', 'users-\ud800'],
  ])('rejects an id with %s', (_what, id) => {
    expect(fieldOf({ ...good, id })).toBe('id');
  });

  it('accepts ids with printable non-ASCII characters', () => {
    expect(validateInstanceId('usérs-1:8080')).toBe('usérs-1:8080');
  });

  it('caps metadata by keys, key length, value length and total size', () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect(Object.keys(validateInstance({ ...good, metadata: keys(128) }).metadata ?? {})).toHaveLength(128);
    expect(fieldOf({ ...good, metadata: keys(129) })).toBe('metadata');
    expect(fieldOf({ ...good, metadata: { ['k'.repeat(129)]: 'v' } })).toMatch(/^metadata\.k+…$/);
    expect(validateInstance({ ...good, metadata: { v: 'x'.repeat(1024) } }).metadata?.v).toHaveLength(1024);
    expect(fieldOf({ ...good, metadata: { v: 'x'.repeat(1025) } })).toBe('metadata.v');
    const big = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'x'.repeat(1020)]));
    expect(fieldOf({ ...good, metadata: big })).toBe('metadata');
  });

  it('prints the type of a value of the wrong type', () => {
    expect(() => validateInstance({ ...good, port: '8080' })).toThrow('got "8080" (string)');
    expect(() => validateInstance({ ...good, weight: '2' })).toThrow('got "2" (string)');
  });
});

describe('validateTtl', () => {
  it('accepts up to 2^31-1 ms and rejects more (Node timers overflow to 1 ms)', () => {
    expect(validateTtl(10_000)).toBe(10_000);
    expect(validateTtl(2 ** 31 - 1)).toBe(2 ** 31 - 1);
    expect(validateTtl(undefined)).toBeUndefined();
    expect(() => validateTtl(2 ** 31)).toThrow(ValidationError);
    expect(() => validateTtl(1e12, 'ttlMs')).toThrow(/invalid ttlMs:.*1000000000000 \(number\)/);
    expect(() => validateTtl('2000')).toThrow('got "2000" (string)');
  });
});
