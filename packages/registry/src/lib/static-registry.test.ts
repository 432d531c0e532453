import { type ServiceInstance, ServiceNotFoundError, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { StaticRegistry } from './static-registry.ts';

const u = (id: string, extra: Record<string, unknown> = {}) =>
  ({ id, service: 'users', host: '10.0.0.1', port: 80, ...extra }) as ServiceInstance;

describe('StaticRegistry', () => {
  it('resolves the up instances of a listed service; unlisted → ServiceNotFoundError', async () => {
    const registry = new StaticRegistry({ users: [u('a'), u('b', { status: 'down' })], empty: [] });
    expect((await registry.resolve('users')).map((i) => i.id)).toEqual(['a']);
    expect(await registry.resolve('empty')).toEqual([]);
    await expect(registry.resolve('orders')).rejects.toBeInstanceOf(ServiceNotFoundError);
    expect(registry.services()).toEqual(['empty', 'users']);
  });

  it('watch delivers the fixed list once', () => {
    const registry = new StaticRegistry({ users: [u('a')] });
    const seen: number[] = [];
    registry.watch('users', (list) => seen.push(list.length))();
    expect(seen).toEqual([1]);
  });

  // Each case: the map tried, the field the error must name, the instance it must name.
  it.each([
    ['port 0 on the second instance', { users: [u('a'), u('b', { port: 0 })] }, 'users[1].port', 'b'],
    ['a weight of -1', { users: [u('a', { weight: -1 })] }, 'users[0].weight', 'a'],
    ['a metadata number', { users: [u('a', { metadata: { x: 1 } })] }, 'users[0].metadata.x', 'a'],
    ['an empty id', { users: [u('')] }, 'users[0].id', undefined],
    ['an instance filed under another service', { orders: [u('a')] }, 'orders[0].service', 'a'],
    ['a duplicate id', { users: [u('a'), u('a')] }, 'users[1].id', 'a'],
    ['a list that is not an array', { users: 'a' as unknown as ServiceInstance[] }, 'users', undefined],
    ['a bad service name', { 'bad name': [] }, 'service', undefined],
  ])('rejects %s with a ValidationError naming field, service and instance', (_what, map, field, instanceId) => {
    const error = (() => {
      try {
        new StaticRegistry(map);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    if (instanceId) {
      expect((error as ValidationError).instanceId).toBe(instanceId);
      expect((error as ValidationError).message).toContain(instanceId);
    }
  });
});
