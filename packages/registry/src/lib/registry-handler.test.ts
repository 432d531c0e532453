import { describe, expect, it } from 'vitest';
import { InMemoryRegistry } from './in-memory-registry.ts';
import {
  createRegistryHandler,
  type RegistryHandlerOptions,
  type RegistryRequest,
} from './registry-handler.ts';

const signal = new AbortController().signal;
const request = (method: string, path: string, bodyText?: string, extra: Partial<RegistryRequest> = {}) => {
  const url = new URL(path, 'http://registry');
  const headers = new Headers(bodyText === undefined ? {} : { 'content-type': 'application/json' });
  return {
    method,
    pathname: url.pathname,
    searchParams: url.searchParams,
    bodyText,
    signal,
    headers,
    ...extra,
  };
};
const good = { id: 'u1', service: 'users', host: '127.0.0.1', port: 8080 };

async function setup(options = {}) {
  const registry = new InMemoryRegistry();
  const handle = createRegistryHandler(registry, options);
  const created = await handle(request('POST', '/register', JSON.stringify({ ...good, id: 'keep' })));
  expect(created.status).toBe(201);
  return { registry, handle };
}

describe('createRegistryHandler', () => {
  it('speaks the protocol table: register, resolve with index, list, heartbeat, deregister', async () => {
    const { registry, handle } = await setup();
    expect(
      (await handle(request('POST', '/register', JSON.stringify({ ...good, ttlMs: 5000 })))).status,
    ).toBe(201);
    const resolved = await handle(request('GET', '/services/users'));
    expect(resolved.status).toBe(200);
    expect(resolved.headers['x-registry-index']).toBe(String(registry.indexOf('users')));
    expect(
      JSON.parse(String(resolved.body))
        .map((i: { id: string }) => i.id)
        .sort(),
    ).toEqual(['keep', 'u1']);
    expect(JSON.parse(String((await handle(request('GET', '/services'))).body))).toEqual(['users']);
    expect((await handle(request('PUT', '/services/users/instances/u1/heartbeat'))).status).toBe(204);
    expect((await handle(request('DELETE', '/services/users/instances/u1'))).status).toBe(204);
    expect((await handle(request('DELETE', '/services/users/instances/u1'))).status).toBe(404);
    expect((await handle(request('PUT', '/services/users/instances/u1/heartbeat'))).status).toBe(404);
    const missing = await handle(request('GET', '/services/orders'));
    expect(missing.status).toBe(404);
    expect(missing.headers['x-registry-index']).toBe('0');
  });

  // Each case: what was sent, and the field the 400 must name (undefined: body-level error).
  it.each([
    ['malformed JSON', '{"id": "x",', undefined],
    ['an empty body', '', undefined],
    ['a JSON array instead of an object', '[]', undefined],
    ['a JSON string', '"hello"', undefined],
    ['null', 'null', undefined],
    ['no id', JSON.stringify({ ...good, id: undefined }), 'id'],
    ['no service', JSON.stringify({ ...good, service: undefined }), 'service'],
    ['no host', JSON.stringify({ ...good, host: undefined }), 'host'],
    ['no port', JSON.stringify({ ...good, port: undefined }), 'port'],
    ['port as a string', JSON.stringify({ ...good, port: '8080' }), 'port'],
    ['port 0', JSON.stringify({ ...good, port: 0 }), 'port'],
    ['weight -1', JSON.stringify({ ...good, weight: -1 }), 'weight'],
    ['secure as a string', JSON.stringify({ ...good, secure: 'yes' }), 'secure'],
    ['status "sleeping"', JSON.stringify({ ...good, status: 'sleeping' }), 'status'],
    ['metadata value a number', JSON.stringify({ ...good, metadata: { v: 2 } }), 'metadata.v'],
    ['ttlMs 0', JSON.stringify({ ...good, ttlMs: 0 }), 'ttlMs'],
    ['ttlMs negative', JSON.stringify({ ...good, ttlMs: -10 }), 'ttlMs'],
    ['ttlMs as a string', JSON.stringify({ ...good, ttlMs: '100' }), 'ttlMs'],
    ['ttlMs above 2^31-1 (timer overflow)', JSON.stringify({ ...good, ttlMs: 2 ** 31 }), 'ttlMs'],
    ['service name with a slash', JSON.stringify({ ...good, service: 'a/b' }), 'service'],
  ])('register with %s → 400 naming the problem, registry unchanged', async (_what, body, field) => {
    const { registry, handle } = await setup();
    const before = registry.indexOf('users');
    const answer = await handle(request('POST', '/register', body));
    expect(answer.status).toBe(400);
    const error = JSON.parse(String(answer.body));
    expect(typeof error.error).toBe('string');
    expect(error.field).toBe(field);
    expect(registry.services()).toEqual(['users']);
    expect((await registry.resolve('users')).map((i) => i.id)).toEqual(['keep']);
    expect(registry.indexOf('users')).toBe(before);
  });

  it('oversized body → 413 and nothing registered', async () => {
    const { registry, handle } = await setup({ maxBodyBytes: 200 });
    const body = JSON.stringify({ ...good, metadata: { pad: 'x'.repeat(300) } });
    expect((await handle(request('POST', '/register', body))).status).toBe(413);
    expect((await registry.resolve('users')).map((i) => i.id)).toEqual(['keep']);
  });

  it.each([
    ['GET', '/nowhere', 404],
    ['GET', '/services/users/instances', 404],
    ['GET', '/services/users/instances/u1/heartbeat/extra', 404],
    ['GET', '/register', 405],
    ['POST', '/services', 405],
    ['DELETE', '/services/users', 405],
    ['GET', '/services/users/instances/keep', 405],
    ['POST', '/services/users/instances/keep/heartbeat', 405],
    ['GET', '/services/%E0%A4%A', 400],
    ['GET', '/services/users?index=abc', 400],
    ['GET', '/services/users?index=1&waitMs=-1', 400],
  ])('%s %s → %i', async (method, path, status) => {
    const { handle } = await setup();
    const answer = await handle(request(method, path));
    expect(answer.status).toBe(status);
    if (status === 405) expect(answer.headers.allow).toBeTruthy();
  });

  it('long-poll answers when the index moves, and caps waitMs', async () => {
    const { registry, handle } = await setup({ maxWaitMs: 50 });
    const index = registry.indexOf('users');
    const pending = handle(request('GET', `/services/users?index=${index}&waitMs=600000`));
    await registry.register({ ...good, id: 'u2' });
    const answer = await pending;
    expect(Number(answer.headers['x-registry-index'])).toBe(index + 1);
    // With nothing changing, the capped wait (50 ms, not 10 min) answers with the same index.
    const idle = await handle(request('GET', `/services/users?index=${index + 1}&waitMs=600000`));
    expect(idle.status).toBe(200);
    expect(Number(idle.headers['x-registry-index'])).toBe(index + 1);
  });

  it('an aborted long-poll answers with the current state instead of throwing', async () => {
    const { registry, handle } = await setup();
    const controller = new AbortController();
    const index = registry.indexOf('users');
    const pending = handle(
      request('GET', `/services/users?index=${index}&waitMs=60000`, undefined, { signal: controller.signal }),
    );
    controller.abort();
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.headers['x-registry-index']).toBe(String(index));
  });

  it('2,000 watchers of a 5,000-instance service share one serialised answer per index', async () => {
    const registry = new InMemoryRegistry();
    const handle = createRegistryHandler(registry);
    for (let i = 0; i < 5_000; i++) {
      registry.registerSync({ id: `i${i}`, service: 'big', host: '127.0.0.1', port: 1 + (i % 60_000) });
    }
    const index = registry.indexOf('big');
    const pending = Array.from({ length: 2_000 }, () =>
      handle(request('GET', `/services/big?index=${index}&waitMs=60000`)),
    );
    registry.registerSync({ id: 'new', service: 'big', host: '127.0.0.1', port: 2 });
    const answers = await Promise.all(pending);
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    // One body for all: serialised once for this index, not once per waiter.
    expect(new Set(answers.map((answer) => answer.body)).size).toBe(1);
    expect(JSON.parse(String(answers[0]?.body)).length).toBe(5_001);
    await registry.close();
  });

  it('past maxWatchers a watch gets 503 with Retry-After; a freed slot is usable again', async () => {
    const { registry, handle } = await setup({ maxWatchers: 3 });
    const index = registry.indexOf('users');
    const watch = () => handle(request('GET', `/services/users?index=${index}&waitMs=60000`));
    const waiting = [watch(), watch(), watch()];
    const refused = await watch();
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(String(refused.body)).error).toMatch(/too many watchers/);
    // A plain resolve (no index) and a watch whose index is already behind never wait: not capped.
    expect((await handle(request('GET', '/services/users'))).status).toBe(200);
    expect((await handle(request('GET', `/services/users?index=${index - 1}`))).status).toBe(200);
    registry.registerSync({ ...good, id: 'u2' });
    expect((await Promise.all(waiting)).map((answer) => answer.status)).toEqual([200, 200, 200]);
    const again = handle(request('GET', `/services/users?index=${index + 1}&waitMs=60000`));
    registry.registerSync({ ...good, id: 'u3' });
    expect((await again).status).toBe(200);
  });

  it.each([
    ['maxWatchers 0', { maxWatchers: 0 }, 'maxWatchers'],
    ['an empty token', { token: '' }, 'token'],
    ['an unknown key', { maxWatcher: 5 }, 'createRegistryHandler options.maxWatcher'],
  ])('rejects %s with a ValidationError', (_what, options, field) => {
    expect(() => createRegistryHandler(new InMemoryRegistry(), options as RegistryHandlerOptions)).toThrow(
      expect.objectContaining({ field }),
    );
  });
});
