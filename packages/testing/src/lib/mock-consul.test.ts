import { ManualClock, ValidationError } from '@switchyard/core';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MockConsulOptions, mockConsul } from './mock-consul.ts';

const URL = 'http://consul.test:8500';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const users = [
  { id: 'users-1', service: 'users', host: '10.0.0.1', port: 8080, weight: 3, metadata: { version: '2' } },
  { id: 'users-2', service: 'users', host: '10.0.0.2', port: 8080, zone: 'eu-1' },
];

function start(options: Partial<MockConsulOptions> = {}) {
  const consul = mockConsul({
    url: URL,
    services: { users, orders: [{ id: 'o-1', host: '', port: 9000, tags: ['v1'] }] },
    ...options,
  });
  server.use(...consul.handlers);
  return consul;
}

async function get(path: string, init: RequestInit = {}) {
  const res = await fetch(`${URL}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

function put(path: string, body?: unknown, headers: Record<string, string> = {}) {
  return get(path, {
    method: 'PUT',
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers,
  });
}

type Entry = {
  Node: Record<string, unknown>;
  Service: Record<string, unknown>;
  Checks: Record<string, unknown>[];
};

describe('mockConsul: /v1/health/service/:name', () => {
  it('matches service names case-insensitively, as Consul does, and one ID may run on many nodes', async () => {
    const consul = start();
    consul.setInstances('web', [
      { id: 'web', host: '', port: 80, node: 'a', nodeAddress: '10.0.0.1' },
      { id: 'web', host: '', port: 80, node: 'b', nodeAddress: '10.0.0.2' },
    ]);
    const entries = (await get('/v1/health/service/WEB')).json() as Entry[];
    expect(entries.map((e) => [e.Node.Node, e.Service.ID, e.Service.Service])).toEqual([
      ['a', 'web', 'web'],
      ['b', 'web', 'web'],
    ]);
    expect(consul.index('Web')).toBe(consul.index('web'));
  });

  it('answers Consul’s documented shapes and headers', async () => {
    start();
    const res = await get('/v1/health/service/users');
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('X-Consul-Index'))).toBeGreaterThan(0);
    expect(res.headers.get('X-Consul-KnownLeader')).toBe('true');
    expect(res.headers.get('X-Consul-LastContact')).toBe('0');
    const [first, second] = res.json() as Entry[];
    expect(first!.Node).toMatchObject({
      Node: 'node-1',
      Address: '127.0.0.1',
      Datacenter: 'dc1',
      TaggedAddresses: { lan: '127.0.0.1', wan: '127.0.0.1' },
    });
    expect(first!.Node.ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(first!.Service).toMatchObject({
      ID: 'users-1',
      Service: 'users',
      Tags: [],
      Address: '10.0.0.1',
      Port: 8080,
      Meta: { version: '2' },
      Weights: { Passing: 3, Warning: 1 },
      EnableTagOverride: false,
    });
    expect(second!.Service).toMatchObject({
      ID: 'users-2',
      Meta: { zone: 'eu-1' },
      Weights: { Passing: 1, Warning: 1 },
    });
    expect(first!.Checks).toEqual([
      expect.objectContaining({
        Node: 'node-1',
        CheckID: 'serfHealth',
        Name: 'Serf Health Status',
        Status: 'passing',
        ServiceID: '',
        ServiceName: '',
      }),
      expect.objectContaining({
        Node: 'node-1',
        CheckID: 'service:users-1',
        Status: 'passing',
        ServiceID: 'users-1',
        ServiceName: 'users',
        ServiceTags: [],
      }),
    ]);
    expect((await get('/v1/health/service/nobody')).json()).toEqual([]);
  });

  it('?passing drops instances with a warning or critical check; without it they are listed with their status', async () => {
    const consul = start();
    consul.setHealth('users-2', 'critical');
    const passing = (await get('/v1/health/service/users?passing')).json() as Entry[];
    expect(passing.map((e) => e.Service.ID)).toEqual(['users-1']);
    consul.setHealth('users-1', 'warning');
    expect((await get('/v1/health/service/users?passing=true')).json()).toEqual([]);
    const all = (await get('/v1/health/service/users?passing=false')).json() as Entry[];
    expect(all.map((e) => e.Checks[1]!.Status)).toEqual(['warning', 'critical']);
    // Tried: a value Consul cannot read as a boolean.
    expect((await get('/v1/health/service/users?passing=maybe')).status).toBe(400);
  });

  it('a Switchyard instance whose status is not up starts with a critical check', async () => {
    start({ services: { users: [{ ...users[0]!, status: 'down' }] } });
    expect((await get('/v1/health/service/users?passing')).json()).toEqual([]);
  });

  it('filters by tag (every tag, any case) and by datacenter', async () => {
    start({
      services: {
        users: [
          { ...users[0]!, tags: ['Primary', 'v2'] },
          { ...users[1]!, tags: ['v2'] },
          { id: 'users-3', host: '10.1.0.3', port: 8080, datacenter: 'dc2', node: 'far' },
        ],
      },
    });
    const tagged = (await get('/v1/health/service/users?tag=primary&tag=v2')).json() as Entry[];
    expect(tagged.map((e) => e.Service.ID)).toEqual(['users-1']);
    const dc2 = (await get('/v1/health/service/users?dc=dc2')).json() as Entry[];
    expect(dc2.map((e) => [e.Service.ID, e.Node.Datacenter, e.Node.Node])).toEqual([
      ['users-3', 'dc2', 'far'],
    ]);
    const unknown = await get('/v1/health/service/users?dc=mars');
    expect([unknown.status, unknown.text]).toEqual([500, 'No path to datacenter']);
  });

  it('stale and consistent reads, with and without a known leader', async () => {
    const consul = start();
    const both = await get('/v1/health/service/users?stale&consistent');
    expect(both.status).toBe(400);
    expect(both.text).toMatch(/conflicting semantics/);
    consul.setLeader(false, 1500);
    const leaderless = await get('/v1/health/service/users');
    expect([leaderless.status, leaderless.text]).toEqual([500, 'No cluster leader']);
    expect((await get('/v1/health/service/users?consistent')).status).toBe(500);
    const stale = await get('/v1/health/service/users?stale');
    expect(stale.status).toBe(200);
    expect(stale.headers.get('X-Consul-KnownLeader')).toBe('false');
    expect(stale.headers.get('X-Consul-LastContact')).toBe('1500');
  });
});

describe('mockConsul: blocking queries', () => {
  it('answers only after a change to that service', async () => {
    const clock = new ManualClock();
    const consul = start({ clock });
    const first = await get('/v1/health/service/users');
    const index = Number(first.headers.get('X-Consul-Index'));
    let settled = false;
    const blocked = get(`/v1/health/service/users?index=${index}&wait=5s`).finally(() => {
      settled = true;
    });
    await expect.poll(() => consul.blockedQueries).toBe(1);
    consul.setInstances('orders', []); // another service: still blocked
    clock.advance(4_999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    consul.removeInstance('users', 'users-1');
    const answer = await blocked;
    expect(Number(answer.headers.get('X-Consul-Index'))).toBeGreaterThan(index);
    expect((answer.json() as Entry[]).map((e) => e.Service.ID)).toEqual(['users-2']);
  });

  it('answers with the same index once the wait is over', async () => {
    const clock = new ManualClock();
    const consul = start({ clock });
    const index = consul.index('users');
    const blocked = get(`/v1/health/service/users?index=${index}&wait=1m30s`);
    await expect.poll(() => consul.blockedQueries).toBe(1);
    clock.advance(90_000);
    const answer = await blocked;
    expect(answer.headers.get('X-Consul-Index')).toBe(String(index));
    expect(answer.json()).toHaveLength(2);
  });

  it('index=0, or an index already passed, answers at once; a bad index or wait is a 400', async () => {
    const consul = start({ clock: new ManualClock() });
    expect((await get('/v1/health/service/users?index=0&wait=10s')).status).toBe(200);
    expect((await get(`/v1/health/service/users?index=${consul.index('users') - 1}`)).status).toBe(200);
    // Tried: a negative index, a word, a wait without a unit, a wait in an unknown unit.
    expect((await get('/v1/health/service/users?index=-1')).text).toBe('Invalid index');
    expect((await get('/v1/health/service/users?index=abc')).status).toBe(400);
    expect((await get('/v1/health/service/users?index=5&wait=10')).text).toBe('Invalid wait time');
    expect((await get('/v1/health/service/users?index=5&wait=3d')).status).toBe(400);
  });

  it('resetIndex() answers blocked queries with an index that went backwards', async () => {
    const consul = start({ clock: new ManualClock() });
    consul.setHealth('users-1', 'warning');
    const index = consul.index('users');
    const blocked = get(`/v1/health/service/users?index=${index}&wait=5m`);
    await expect.poll(() => consul.blockedQueries).toBe(1);
    consul.resetIndex(1);
    expect((await blocked).headers.get('X-Consul-Index')).toBe('1');
  });

  it('a TTL pass that changes nothing does not move the index', async () => {
    const consul = start();
    await put('/v1/agent/service/register', {
      Name: 'jobs',
      ID: 'jobs-1',
      Port: 1,
      Check: { TTL: '10s', Status: 'passing' },
    });
    const index = consul.index('jobs');
    expect((await put('/v1/agent/check/pass/service:jobs-1')).status).toBe(200);
    expect(consul.index('jobs')).toBe(index);
  });
});

describe('mockConsul: catalog and agent endpoints', () => {
  it('lists services with their tags, blocking on the catalog index', async () => {
    const clock = new ManualClock();
    const consul = start({ clock });
    const list = await get('/v1/catalog/services');
    expect(list.json()).toEqual({ users: [], orders: ['v1'] });
    const blocked = get(`/v1/catalog/services?index=${list.headers.get('X-Consul-Index')}&wait=1m`);
    await expect.poll(() => consul.blockedQueries).toBe(1);
    consul.setInstances('billing', [{ id: 'b-1', host: '10.0.0.9', port: 1, tags: ['eu'] }]);
    expect((await blocked).json()).toEqual({ users: [], orders: ['v1'], billing: ['eu'] });
  });

  it('registers with a TTL check that starts critical, passes, expires and deregisters when critical too long', async () => {
    const clock = new ManualClock();
    start({ clock });
    const res = await put('/v1/agent/service/register', {
      ID: 'users-9',
      Name: 'users',
      Address: '10.0.0.9',
      Port: 8081,
      Tags: ['canary'],
      Meta: { version: '3' },
      Weights: { Passing: 5, Warning: 1 },
      Check: { TTL: '15s', DeregisterCriticalServiceAfter: '1m' },
    });
    expect([res.status, res.text]).toEqual([200, '']);
    const ids = async () =>
      ((await get('/v1/health/service/users?passing')).json() as Entry[]).map((e) => e.Service.ID);
    expect(await ids()).toEqual(['users-1', 'users-2']);
    expect((await put('/v1/agent/check/pass/service:users-9?note=ok')).status).toBe(200);
    expect(await ids()).toEqual(['users-1', 'users-2', 'users-9']);
    const entry = ((await get('/v1/health/service/users?tag=canary')).json() as Entry[])[0]!;
    expect(entry.Service).toMatchObject({
      Address: '10.0.0.9',
      Port: 8081,
      Meta: { version: '3' },
      Weights: { Passing: 5, Warning: 1 },
    });
    expect(entry.Checks[1]).toMatchObject({
      CheckID: 'service:users-9',
      Status: 'passing',
      Output: 'ok',
      Type: 'ttl',
    });
    clock.advance(14_000);
    expect(await ids()).toContain('users-9');
    clock.advance(1_000);
    const expired = ((await get('/v1/health/service/users?tag=canary')).json() as Entry[])[0]!;
    expect(expired.Checks[1]).toMatchObject({ Status: 'critical', Output: 'TTL expired' });
    clock.advance(60_000);
    expect((await get('/v1/health/service/users?tag=canary')).json()).toEqual([]);
  });

  it('check warn, fail and update set the status; multiple Checks get numbered IDs', async () => {
    start();
    await put('/v1/agent/service/register', {
      Name: 'jobs',
      Port: 1,
      Checks: [{ TTL: '30s' }, { HTTP: 'http://127.0.0.1:1/health', Interval: '10s' }],
    });
    const checks = async () =>
      ((await get('/v1/health/service/jobs')).json() as Entry[])[0]!.Checks.slice(1).map((c) => [
        c.CheckID,
        c.Status,
      ]);
    expect(await checks()).toEqual([
      ['service:jobs:1', 'critical'],
      ['service:jobs:2', 'passing'],
    ]);
    await put('/v1/agent/check/warn/service:jobs:1');
    expect((await checks())[0]).toEqual(['service:jobs:1', 'warning']);
    await put('/v1/agent/check/update/service:jobs:1', { Status: 'passing', Output: 'fine' });
    expect((await checks())[0]).toEqual(['service:jobs:1', 'passing']);
    await put('/v1/agent/check/fail/service:jobs:1');
    expect((await checks())[0]).toEqual(['service:jobs:1', 'critical']);
    const notTtl = await put('/v1/agent/check/pass/service:jobs:2');
    expect([notTtl.status, notTtl.text]).toEqual([
      500,
      'CheckID "service:jobs:2" does not have associated TTL',
    ]);
    const unknown = await put('/v1/agent/check/pass/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toMatch(/^Unknown check ID "nope"/);
    // Tried: a status Consul does not know.
    expect((await put('/v1/agent/check/update/service:jobs:1', { Status: 'ok' })).status).toBe(400);
  });

  it('deregisters by service ID; an unknown ID is a 404', async () => {
    start();
    await put('/v1/agent/service/register', { Name: 'jobs', ID: 'jobs-1', Port: 1 });
    expect((await put('/v1/agent/service/deregister/jobs-1')).status).toBe(200);
    expect((await get('/v1/health/service/jobs')).json()).toEqual([]);
    const again = await put('/v1/agent/service/deregister/jobs-1');
    expect(again.status).toBe(404);
    expect(again.text).toMatch(/^Unknown service ID "jobs-1"/);
  });

  it('rejects malformed registrations with a 400 and changes nothing', async () => {
    const consul = start();
    const index = consul.index('jobs');
    // Tried: broken JSON, an array, no Name, a string Port, Port out of range, Passing weight 0,
    // a TTL without a unit, a check with no kind, Meta values that are not strings, wrong method.
    const bad: [unknown, RegExp][] = [
      ['{"Name":', /^Request decode failed/],
      [[], /^Request decode failed/],
      [{ Port: 1 }, /^Missing service name$/],
      [{ Name: 'jobs', Port: '80' }, /Port must be a number/],
      [{ Name: 'jobs', Port: 70000 }, /out of range/],
      [{ Name: 'jobs', Weights: { Passing: 0, Warning: 1 } }, /Passing must be greater than 0/],
      [{ Name: 'jobs', Check: { TTL: '10' } }, /invalid TTL/],
      [{ Name: 'jobs', Check: { Interval: '10s' } }, /Invalid check/],
      [{ Name: 'jobs', Meta: { n: 1 } }, /Invalid Service Meta/],
    ];
    for (const [body, message] of bad) {
      const res = await put('/v1/agent/service/register', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.text).toMatch(message);
    }
    expect((await get('/v1/agent/service/register')).status).toBe(405);
    expect(consul.index('jobs')).toBe(index);
    expect((await get('/v1/catalog/services')).json()).toEqual({ users: [], orders: ['v1'] });
  });

  it('requires the ACL token when one is set, from any of the places Consul reads it', async () => {
    start({ token: 's3cret' });
    const none = await get('/v1/health/service/users');
    expect([none.status, none.text]).toEqual([403, 'Permission denied']);
    const wrong = await get('/v1/health/service/users', { headers: { 'X-Consul-Token': 'guess' } });
    expect([wrong.status, wrong.text]).toEqual([403, 'ACL not found']);
    expect((await get('/v1/health/service/users', { headers: { 'X-Consul-Token': 's3cret' } })).status).toBe(
      200,
    );
    expect(
      (await get('/v1/health/service/users', { headers: { Authorization: 'Bearer s3cret' } })).status,
    ).toBe(200);
    expect((await get('/v1/catalog/services?token=s3cret')).status).toBe(200);
    expect((await put('/v1/agent/service/register', { Name: 'x' })).status).toBe(403);
    expect((await get('/v1/status/leader')).text).toBe('"127.0.0.1:8300"');
  });
});

describe('mockConsul: controls', () => {
  it('failNext scripts statuses, network errors and delays, in order, optionally by path', async () => {
    const consul = start();
    consul.failNext(2, { status: 503 });
    consul.failNext(1, { networkError: true });
    const first = await get('/v1/health/service/users');
    expect([first.status, first.text]).toEqual([503, 'injected 503']); // plain text, as Consul's errors
    expect((await get('/v1/catalog/services')).status).toBe(503);
    await expect(fetch(`${URL}/v1/health/service/users`)).rejects.toThrow(TypeError);
    expect((await get('/v1/health/service/users')).status).toBe(200);
    consul.failNext(1, { status: 500, path: '/v1/agent' });
    expect((await get('/v1/health/service/users')).status).toBe(200);
    expect((await put('/v1/agent/service/register', { Name: 'x' })).status).toBe(500);
    consul.failNext(1, { delayMs: 30 });
    const began = performance.now();
    expect((await get('/v1/health/service/users')).status).toBe(200);
    expect(performance.now() - began).toBeGreaterThanOrEqual(25);
    const log = consul.requests();
    expect(
      log.map((r) => [r.method, r.path, r.fault?.status ?? (r.fault?.networkError ? 'net' : null)]),
    ).toEqual([
      ['GET', '/v1/health/service/users', 503],
      ['GET', '/v1/catalog/services', 503],
      ['GET', '/v1/health/service/users', 'net'],
      ['GET', '/v1/health/service/users', null],
      ['GET', '/v1/health/service/users', null],
      ['PUT', '/v1/agent/service/register', 500],
      ['GET', '/v1/health/service/users', null],
    ]);
  });

  it('rejects bad control input with a ValidationError and changes nothing', async () => {
    const consul = start();
    // Tried: n = 0, a fault with nothing in it, status 42, a negative delay, an unknown
    // health status, an unknown service ID, a port out of range, an instance under the wrong service.
    expect(() => consul.failNext(0, { status: 503 })).toThrow(/failNext\.n/);
    expect(() => consul.failNext(1, {})).toThrow(ValidationError);
    expect(() => consul.failNext(1, { status: 42 })).toThrow(/failNext\.status/);
    expect(() => consul.failNext(1, { delayMs: -1 })).toThrow(/failNext\.delayMs/);
    expect(() => consul.setHealth('users-1', 'sick' as 'passing')).toThrow(ValidationError);
    expect(() => consul.setHealth('ghost', 'critical')).toThrow(/serviceId/);
    expect(() => consul.setInstances('users', [{ id: 'u', host: 'h', port: 70000 }])).toThrow(/port/);
    expect(() => consul.setServices({ users: [{ id: 'u', service: 'orders', host: 'h', port: 1 }] })).toThrow(
      ValidationError,
    );
    expect(() => mockConsul({ url: 'not a url' })).toThrow(/url/);
    const entries = (await get('/v1/health/service/users')).json() as Entry[];
    expect(entries.map((e) => e.Service.ID)).toEqual(['users-1', 'users-2']);
  });

  it('setServices replaces the whole catalog; removeInstance takes one instance out', async () => {
    const consul = start();
    consul.setServices({ carts: [{ id: 'c-1', host: '10.0.0.7', port: 7000, tags: ['eu'] }] });
    expect((await get('/v1/catalog/services')).json()).toEqual({ carts: ['eu'] });
    expect(consul.removeInstance('carts', 'c-1')).toBe(true);
    expect(consul.removeInstance('carts', 'c-1')).toBe(false);
    expect((await get('/v1/health/service/carts')).json()).toEqual([]);
  });

  it('close() answers blocked queries at once', async () => {
    const consul = start({ clock: new ManualClock() });
    const blocked = get(`/v1/health/service/users?index=${consul.index('users')}&wait=10m`);
    await expect.poll(() => consul.blockedQueries).toBe(1);
    consul.close();
    expect((await blocked).status).toBe(200);
    expect(consul.blockedQueries).toBe(0);
  });

  it('reset() brings back the initial services, clears faults and the log, with a newer index', async () => {
    const consul = start();
    const index = consul.index('users');
    consul.setInstances('users', []);
    consul.failNext(5, { status: 503 });
    consul.setLeader(false);
    consul.reset();
    expect(consul.requests()).toEqual([]);
    const res = await get('/v1/health/service/users');
    expect(res.status).toBe(200);
    expect(res.json()).toHaveLength(2);
    expect(consul.index('users')).toBeGreaterThan(index);
  });
});
