import type { ServiceInstance } from '@switchyard/core';
import { createRegistryServer, type RegistryServer } from '@switchyard/registry';
import { setupServer } from 'msw/node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mockRegistry } from './mock-registry.ts';

// The same requests against the real embedded server (over undici, which msw leaves alone) and
// the mock (over fetch, which msw intercepts) must get the same answers.
const MOCK = 'http://registry.test';
const users: ServiceInstance[] = [
  { id: 'users-1', service: 'users', host: '127.0.0.1', port: 8001 },
  { id: 'users-2', service: 'users', host: '127.0.0.1', port: 8002, weight: 2, metadata: { v: '1' } },
];
const mock = mockRegistry({ url: MOCK, services: { users } });
const server = setupServer(...mock.handlers);
let real: RegistryServer;

beforeAll(async () => {
  server.listen({ onUnhandledRequest: 'error' });
  real = await createRegistryServer();
  for (const instance of users) await real.registry.register(instance);
});
afterAll(async () => {
  server.close();
  await mock.close();
  await real.close();
});

interface Answer {
  status: number;
  index: string | null;
  body: unknown;
}

async function askReal(method: string, path: string, body?: string): Promise<Answer> {
  const headers = body === undefined ? {} : { 'content-type': 'application/json' };
  const res = await request(`${real.url}${path}`, { method: method as 'GET', body, headers });
  const text = await res.body.text();
  const index = res.headers['x-registry-index'];
  return { status: res.statusCode, index: typeof index === 'string' ? index : null, body: parse(text) };
}

async function askMock(method: string, path: string, body?: string): Promise<Answer> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  const res = await fetch(`${MOCK}${path}`, { method, body, headers });
  return { status: res.status, index: res.headers.get('x-registry-index'), body: parse(await res.text()) };
}

function parse(text: string): unknown {
  try {
    return text === '' ? '' : JSON.parse(text);
  } catch {
    return text;
  }
}

// Tried, besides the good calls: malformed JSON, a JSON array, a bad port, a bad weight,
// metadata that is not a string, a bad TTL, an unknown service and instance, a bad index and
// waitMs, an unknown route, the wrong method, a malformed path.
const cases: [string, string, string?][] = [
  ['GET', '/services'],
  ['GET', '/services/users'],
  ['GET', '/services/users?index=1&waitMs=0'],
  ['GET', '/services/nobody'],
  ['GET', '/services/users?index=abc'],
  ['GET', '/services/users?index=0&waitMs=-1'],
  ['POST', '/register', '{"id":'],
  ['POST', '/register', '[]'],
  ['POST', '/register', JSON.stringify({ ...users[0], port: 0 })],
  ['POST', '/register', JSON.stringify({ ...users[0], weight: -1 })],
  ['POST', '/register', JSON.stringify({ ...users[0], metadata: { v: 1 } })],
  ['POST', '/register', JSON.stringify({ ...users[0], ttlMs: 'soon' })],
  ['DELETE', '/services/users/instances/ghost'],
  ['PUT', '/services/users/instances/ghost/heartbeat'],
  ['PUT', '/services/nobody/instances/ghost/heartbeat'],
  ['GET', '/nothing-here'],
  ['DELETE', '/services'],
  ['GET', '/services/%E0%A4%A'],
];

describe('mockRegistry answers exactly like the embedded registry server', () => {
  it.each(cases)('%s %s %s', async (method, path, body) => {
    const [fromReal, fromMock] = [await askReal(method, path, body), await askMock(method, path, body)];
    expect(fromMock).toEqual(fromReal);
  });

  it('and the same after a write through each', async () => {
    const extra = JSON.stringify({ id: 'users-3', service: 'users', host: '127.0.0.1', port: 8003 });
    expect(await askMock('POST', '/register', extra)).toEqual(await askReal('POST', '/register', extra));
    expect(await askMock('GET', '/services/users')).toEqual(await askReal('GET', '/services/users'));
    const gone = '/services/users/instances/users-3';
    expect(await askMock('DELETE', gone)).toEqual(await askReal('DELETE', gone));
    expect(await askMock('GET', '/services/users')).toEqual(await askReal('GET', '/services/users'));
  });
});
