import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import {
  partitionInstances,
  validateInstance,
  validateInstanceId,
  validateServiceName,
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
