import { type ServiceInstance, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { sameEndpoint, validateInstanceList } from './instance-list.ts';

const a: ServiceInstance = { id: 'a', service: 'api', host: '10.0.0.1', port: 80 };

describe('validateInstanceList', () => {
  it('returns the ids of a good list', () => {
    expect([...validateInstanceList([a, { ...a, id: 'b' }])]).toEqual(['a', 'b']);
  });

  it.each([
    ['an object instead of a list', { a }, 'instances'],
    ['an entry that is not an object', [a, 'b'], 'instances[1].instance'],
    ['a weight of 0', [{ ...a, weight: 0 }], 'instances[0].weight'],
    ['a repeated id', [a, { ...a, port: 81 }], 'instances[1].id'],
  ])('rejects %s, naming the entry and field', (_what, list, field) => {
    expect(() => validateInstanceList(list as never)).toThrow(ValidationError);
    expect(() => validateInstanceList(list as never)).toThrow(expect.objectContaining({ field }));
  });
});

describe('sameEndpoint', () => {
  it('compares host, port and scheme only', () => {
    expect(sameEndpoint(a, { ...a, weight: 5, zone: 'b' })).toBe(true);
    expect(sameEndpoint(a, { ...a, port: 81 })).toBe(false);
    expect(sameEndpoint(a, { ...a, secure: true })).toBe(false);
    expect(sameEndpoint(a, { ...a, secure: false })).toBe(true);
  });
});
