import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isUp,
  RegistryProtocolError,
  RegistryUnavailableError,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
} from '@switchyard/core';
import { readyEndpoint as endpoint, mockKubernetes, endpointSlice as slice } from '@switchyard/testing';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesRegistryEvents } from './kubernetes-events.ts';
import type { KubernetesRegistryOptions } from './kubernetes-options.ts';
import { KubernetesPermissionError } from './kubernetes-permission-error.ts';
import { KubernetesRegistry } from './kubernetes-registry.ts';

const API = 'http://kube.test:6443';
const api = mockKubernetes({ url: API });
const server = setupServer(...api.handlers);

async function waitFor<T>(what: string, check: () => T, timeoutMs = 8_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const ids = (list: readonly ServiceInstance[] | undefined) =>
  (list ?? [])
    .filter(isUp)
    .map((i) => i.id)
    .sort();

describe('KubernetesRegistry against the API’s EndpointSlice wire format (msw)', () => {
  const open: KubernetesRegistry[] = [];
  const registry = (options: Partial<KubernetesRegistryOptions> = {}) => {
    const created = new KubernetesRegistry({
      url: API,
      token: 'sa-token-secret',
      minBackoffMs: 10,
      maxBackoffMs: 50,
      ...options,
    });
    open.push(created);
    return created;
  };
  const record = <K extends keyof KubernetesRegistryEvents>(r: KubernetesRegistry, name: K) => {
    const seen: KubernetesRegistryEvents[K][] = [];
    r.on(name, (event) => seen.push(event));
    return seen;
  };
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close()));
    api.reset();
  });
  afterAll(() => server.close());

  it('resolves the merged, de-duplicated endpoints of every slice, with the bearer token', async () => {
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1'), endpoint('b', '10.0.0.2')]));
    api.apply('users', slice('users-2', [endpoint('b', '10.0.0.2'), endpoint('c', '10.0.0.3')]));
    const instances = await registry().resolve('users');
    expect(ids(instances)).toEqual(['a', 'b', 'c']);
    expect(instances.every((i) => i.service === 'users' && i.port === 8080)).toBe(true);
    expect(api.requests.authorization.at(-1)).toBe('Bearer sa-token-secret');
  });

  it('follows list pagination (limit + continue)', async () => {
    for (let i = 0; i < 1_203; i++)
      api.apply(
        'big',
        slice(`big-${String(i).padStart(4, '0')}`, [endpoint(`p${i}`, `10.1.${i >> 8}.${i & 255}`)]),
      );
    const instances = await registry({ maxSlices: 2_000 }).resolve('big');
    expect(instances).toHaveLength(1_203);
    expect(api.requests.list).toBe(3);
  });

  it('a Service without slices is unknown; one with empty slices resolves to []', async () => {
    await expect(registry().resolve('nobody')).rejects.toBeInstanceOf(ServiceNotFoundError);
    api.apply('empty', slice('empty-1', []));
    await expect(registry().resolve('empty')).resolves.toEqual([]);
  });

  it('403 gives a KubernetesPermissionError naming the missing permission, without the token', async () => {
    api.failNext(403, {
      kind: 'Status',
      message:
        'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:default:app" cannot list resource',
      reason: 'Forbidden',
      code: 403,
    });
    const error = await registry()
      .resolve('users')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubernetesPermissionError);
    const permission = error as KubernetesPermissionError;
    expect(permission.status).toBe(403);
    expect(permission.message).toContain(
      'get, list and watch on endpointslices (apiGroup discovery.k8s.io) in namespace default',
    );
    expect(permission.permission.verbs).toEqual(['get', 'list', 'watch']);
    expect(JSON.stringify({ m: permission.message, s: permission.stack })).not.toContain('sa-token-secret');
  });

  it('5xx is RegistryUnavailableError, 400 RegistryProtocolError, junk JSON RegistryProtocolError', async () => {
    api.failNext(503);
    await expect(registry().resolve('users')).rejects.toBeInstanceOf(RegistryUnavailableError);
    api.failNext(400);
    await expect(registry().resolve('users')).rejects.toBeInstanceOf(RegistryProtocolError);
  });

  it('an oversized list answer is refused without being read whole', async () => {
    for (let i = 0; i < 40; i++) api.apply('huge', slice(`huge-${i}`, [endpoint(`p${i}`, `10.2.0.${i}`)]));
    await expect(registry({ maxResponseBytes: 2_048 }).resolve('huge')).rejects.toThrow(/maxResponseBytes/);
  });

  it('watch: list, then ADDED / MODIFIED / DELETED reach the listener', async () => {
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1')]));
    const listed = api.resourceVersion;
    const r = registry();
    const lists: (readonly ServiceInstance[])[] = [];
    r.watch('users', (instances) => lists.push(instances));
    await waitFor('the first list', () => ids(lists.at(-1)).join() === 'a');
    await waitFor('the watch', () => api.openWatches === 1);
    api.apply('users', slice('users-2', [endpoint('b', '10.0.0.2')]));
    await waitFor('ADDED', () => ids(lists.at(-1)).join() === 'a,b');
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1'), endpoint('c', '10.0.0.3')]));
    await waitFor('MODIFIED', () => ids(lists.at(-1)).join() === 'a,b,c');
    api.remove('users', 'users-2');
    await waitFor('DELETED', () => ids(lists.at(-1)).join() === 'a,c');
    // The watch asked from the list's resourceVersion.
    expect(api.requests.watchVersions[0]).toBe(String(listed));
  });

  it('a pod going terminating drains: no longer served while others are ready', async () => {
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1'), endpoint('b', '10.0.0.2')]));
    const r = registry();
    const lists: (readonly ServiceInstance[])[] = [];
    r.watch('users', (instances) => lists.push(instances));
    await waitFor('the first list', () => ids(lists.at(-1)).join() === 'a,b');
    await waitFor('the watch', () => api.openWatches === 1);
    api.apply(
      'users',
      slice('users-1', [
        endpoint('a', '10.0.0.1'),
        endpoint('b', '10.0.0.2', { conditions: { ready: false, serving: true, terminating: true } }),
      ]),
    );
    await waitFor('b draining', () => ids(lists.at(-1)).join() === 'a');
  });

  it('BOOKMARK moves the resourceVersion the next watch starts from', async () => {
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1')]));
    const r = registry();
    r.watch('users', () => undefined);
    await waitFor('the watch', () => api.openWatches === 1);
    api.apply('other', slice('other-1', [endpoint('x', '10.9.0.1')])); // moves rv, not our watch
    api.bookmark();
    await new Promise((resolve) => setTimeout(resolve, 50));
    api.endWatches(); // the server's timeoutSeconds
    await waitFor('the second watch', () => api.requests.watch === 2);
    expect(api.requests.watchVersions[1]).toBe(String(api.resourceVersion));
  });

  it('410 Gone (an ERROR event, or the watch answer) → relist, and the list stays current', async () => {
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1')]));
    const r = registry();
    const relists = record(r, 'relist');
    const lists: (readonly ServiceInstance[])[] = [];
    r.watch('users', (instances) => lists.push(instances));
    await waitFor('the watch', () => api.openWatches === 1);
    api.stall(); // the next change is missed by the open watch…
    api.apply('users', slice('users-2', [endpoint('b', '10.0.0.2')]));
    api.resume();
    api.expire(); // …and the history is gone: only a relist can find it
    await waitFor('relisted', () => ids(lists.at(-1)).join() === 'a,b');
    expect(relists.length).toBeGreaterThanOrEqual(1);
    expect(api.requests.list).toBeGreaterThanOrEqual(2);
  });

  it('a silent watch is caught by the watchdog, restarted, and the missed change arrives', async () => {
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1')]));
    const r = registry({ watchIdleMs: 300 });
    const stale = record(r, 'registryStale');
    const recovered = record(r, 'registryRecovered');
    const lists: (readonly ServiceInstance[])[] = [];
    r.watch('users', (instances) => lists.push(instances));
    await waitFor('the watch', () => api.openWatches === 1);
    api.stall(); // the stream stays open but says nothing
    api.apply('users', slice('users-2', [endpoint('b', '10.0.0.2')]));
    await waitFor('stale', () => stale.length === 1);
    expect(stale[0]?.error.message).toContain('brought nothing for 300 ms');
    api.resume();
    await waitFor('the missed change', () => ids(lists.at(-1)).join() === 'a,b');
    await waitFor('recovered', () => recovered.length >= 1);
  });

  it('a failing watch keeps the last list, reports stale once, and recovers', async () => {
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1')]));
    const r = registry();
    const stale = record(r, 'registryStale');
    const recovered = record(r, 'registryRecovered');
    const lists: (readonly ServiceInstance[])[] = [];
    r.watch('users', (instances) => lists.push(instances));
    await waitFor('the watch', () => api.openWatches === 1);
    api.failNext(500, { kind: 'Status', message: 'etcdserver: leader changed', code: 500 }, true);
    api.endWatches();
    await waitFor('stale', () => stale.length === 1);
    await waitFor('recovered', () => recovered.length === 1);
    expect(ids(lists.at(-1))).toEqual(['a']);
    api.apply('users', slice('users-2', [endpoint('b', '10.0.0.2')]));
    await waitFor('changes flow again', () => ids(lists.at(-1)).join() === 'a,b');
  });

  it('reports a bad endpoint once, not on every event', async () => {
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1'), endpoint('bad', 'not an address')]));
    const r = registry();
    const invalid = record(r, 'invalidInstance');
    const lists: (readonly ServiceInstance[])[] = [];
    r.watch('users', (instances) => lists.push(instances));
    await r.resolve('users');
    await waitFor('the watch', () => api.openWatches === 1);
    api.apply('users', slice('users-2', [endpoint('b', '10.0.0.2')]));
    await waitFor('b', () => ids(lists.at(-1)).join() === 'a,b');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]?.slice).toBe('users-1');
  });

  it('one watch per Service however many listeners; the last unsubscribe closes it', async () => {
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1')]));
    const r = registry();
    const stopA = r.watch('users', () => undefined);
    const stopB = r.watch('users', () => undefined);
    await waitFor('the watch', () => api.openWatches === 1);
    stopA();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(api.openWatches).toBe(1);
    stopB();
    await waitFor('closed', () => api.openWatches === 0);
  });

  it('rejects bad and unknown options with ValidationError', () => {
    expect(() => new KubernetesRegistry({ url: 'ftp://x' })).toThrow(ValidationError);
    expect(() => new KubernetesRegistry({ url: API, port: 'HTTP_' })).toThrow(ValidationError);
    expect(() => new KubernetesRegistry({ url: API, namspace: 'x' } as KubernetesRegistryOptions)).toThrow(
      /did you mean namespace/,
    );
    expect(() => new KubernetesRegistry({ url: API, watchIdleMs: '5' as unknown as number })).toThrow(
      /got "5" \(string\)/,
    );
  });

  it('outside a cluster with no url: a ValidationError that says what to do', () => {
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      expect(() => new KubernetesRegistry()).toThrow(/not running in a cluster/);
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
  });

  it('re-reads a rotating token file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(dir, 'token'), 'first-token\n');
    api.apply('users', slice('users-1', [endpoint('a', '10.0.0.1')]));
    const r = registry({ token: undefined, tokenFile: join(dir, 'token') });
    await r.resolve('users');
    expect(api.requests.authorization.at(-1)).toBe('Bearer first-token');
  });
});
