import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { consistentHash, leastConnections } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { NotRetriedError, ServiceNotFoundError, ValidationError } from '@switchyard/core';
import { InMemoryRegistry } from '@switchyard/registry';
import { type Backends, startBackends } from '@switchyard/testing';
import type { Agent, Dispatcher } from 'undici';
import * as undici7 from 'undici';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UnsupportedDispatcherError } from './errors.ts';
import { switchyard } from './switchyard-interceptor.ts';

type Undici = Pick<typeof undici7, 'Agent' | 'fetch' | 'request'>;

/** The undici majors in the peer range that run here: 8 needs Node ≥ 22.19. */
const [nodeMajor, nodeMinor] = process.versions.node.split('.').map(Number) as [number, number];
const undicis: [string, Undici][] = [['undici 7', undici7]];
if (nodeMajor > 22 || (nodeMajor === 22 && nodeMinor >= 19)) {
  undicis.push(['undici 8', (await import('undici8')) as unknown as Undici]);
}

/** The undici under test: its Agent, fetch and request. */
let u: Undici = undici7;
const undiciFetch: Undici['fetch'] = (input, init) => u.fetch(input, init);
const request: Undici['request'] = ((url: string, options?: object) =>
  u.request(url, options as never)) as Undici['request'];

let backends: Backends;
let registry: InMemoryRegistry;
let client: ServiceDiscoveryClient;
let agent: Agent;
let dispatcher: Dispatcher;

async function setUp(options: ConstructorParameters<typeof ServiceDiscoveryClient>[0] | object = {}) {
  backends = await startBackends(3, { service: 'users' });
  registry = new InMemoryRegistry();
  for (const instance of backends.instances()) await registry.register(instance);
  client = new ServiceDiscoveryClient({ registry, ...options });
  agent = new u.Agent();
  dispatcher = agent.compose(switchyard(client));
}

afterEach(async () => {
  await client?.close();
  await agent?.close();
  await backends?.close();
  (client as unknown) = (agent as unknown) = (backends as unknown) = undefined;
});

async function getInstance(url: string, init: RequestInit = {}): Promise<string> {
  const res = await undiciFetch(url, { ...(init as object), dispatcher });
  expect(res.status).toBe(200);
  return ((await res.json()) as { instance: string }).instance;
}

/** The cause chain of an error, for asserting on what fetch wrapped. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (
    let e = error;
    e !== undefined && e !== null && chain.length < 6;
    e = (e as { cause?: unknown }).cause
  ) {
    chain.push(e);
  }
  return chain;
}

describe.each(undicis)('%s', (_, undici) => {
  beforeAll(() => {
    u = undici;
  });

  describe('switchyard() with undici fetch and request', () => {
    beforeEach(() => setUp());

    it('spreads requests for http://users over all three instances', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) seen.add(await getInstance('http://users/users/42'));
      expect(seen).toEqual(new Set(['users-1', 'users-2', 'users-3']));
    });

    it('keeps the service name in the Host header and strips the x-switchyard-* headers', async () => {
      await getInstance('http://users:8080/x', {
        headers: { 'x-switchyard-idempotent': 'true', 'x-other': '1' },
      });
      await getInstance('http://users/y');
      const logged = backends.list.flatMap((b) => b.log);
      const byPath = Object.fromEntries(logged.map((r) => [r.path, r.headers]));
      expect(byPath['/x']?.host).toBe('users:8080');
      expect(byPath['/x']?.['x-other']).toBe('1');
      expect(byPath['/x']?.['x-switchyard-idempotent']).toBeUndefined();
      expect(byPath['/y']?.host).toBe('users');
    });

    it('passes requests to other hosts through untouched', async () => {
      const [first] = backends.list;
      const res = await undiciFetch(`${first!.url}/direct`, { dispatcher });
      expect(((await res.json()) as { instance: string }).instance).toBe('users-1');
      expect(first!.log[0]?.headers.host).toBe(`127.0.0.1:${first!.port}`);
      expect(client.stats().users).toBeUndefined(); // the client never saw it
    });

    it('routes undici.request the same way', async () => {
      const res = await request('http://users/r', { dispatcher });
      expect(res.statusCode).toBe(200);
      expect(((await res.body.json()) as { path: string }).path).toBe('/r');
    });

    it('loses no idempotent request when one of three instances is killed mid-run', async () => {
      const results: Promise<string>[] = [];
      for (let i = 0; i < 90; i++) {
        if (i === 30) await backends.list[1]!.kill();
        results.push(getInstance(`http://users/n/${i}`));
        if (i % 10 === 9) await Promise.all(results.slice(-10));
      }
      const settled = await Promise.allSettled(results);
      expect(settled.filter((r) => r.status === 'rejected')).toEqual([]);
    });

    it('fails over GETs on connections reset before an answer', async () => {
      backends.list[0]!.dropConnection();
      for (let i = 0; i < 12; i++) expect(await getInstance(`http://users/d/${i}`)).not.toBe('users-1');
    });

    it('never sends again a POST that may have reached an instance', async () => {
      for (const backend of backends.list) backend.dropConnection(1);
      const error = await undiciFetch('http://users/orders', {
        method: 'POST',
        body: '{}',
        dispatcher,
      }).catch((e: unknown) => e);
      expect(causes(error).some((e) => e instanceof NotRetriedError)).toBe(true);
      expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(1);
    });

    it('sends a fetch body again to another instance when the first refused the connection', async () => {
      await backends.list[0]!.kill();
      for (let i = 0; i < 9; i++) {
        const res = await undiciFetch('http://users/p', { method: 'PUT', body: `v${i}`, dispatcher });
        expect(((await res.json()) as { body: string }).body).toBe(`v${i}`);
      }
    });

    it('does not resend a streamed body once it may have been sent, even for PUT', async () => {
      for (const backend of backends.list) backend.dropConnection(1);
      const body = Readable.from([Buffer.from('part-1'), Buffer.from('part-2')]);
      const error = await request('http://users/s', { method: 'PUT', body, dispatcher }).catch(
        (e: unknown) => e,
      );
      expect(causes(error).some((e) => e instanceof NotRetriedError)).toBe(true);
      expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(1);
    });

    it('resends a replayable undici.request body after a reset when the method is idempotent', async () => {
      backends.list[0]!.dropConnection();
      for (let i = 0; i < 6; i++) {
        const res = await request('http://users/u', { method: 'PUT', body: 'same', dispatcher });
        expect(res.statusCode).toBe(200);
        await res.body.dump();
      }
    });

    it('retries a 503 on another instance and discards its body', async () => {
      backends.list[2]!.failWith(503);
      for (let i = 0; i < 12; i++) expect(await getInstance(`http://users/f/${i}`)).not.toBe('users-3');
      expect(backends.list[2]!.requests).toBeGreaterThan(0);
    });

    it('answers the last 503 as the response when every attempt got one', async () => {
      for (const backend of backends.list) backend.failWith(503);
      const res = await undiciFetch('http://users/all-down', { dispatcher });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toBe('injected 503');
    });

    it('answers a POST its 503 without sending it again', async () => {
      for (const backend of backends.list) backend.failWith(503, 1);
      const res = await undiciFetch('http://users/orders', { method: 'POST', body: 'x', dispatcher });
      expect(res.status).toBe(503);
      await res.arrayBuffer();
      expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(1);
    });

    it('x-switchyard-idempotent: true lets a POST fail over after a reset', async () => {
      backends.list[0]!.dropConnection();
      backends.list[1]!.dropConnection();
      const res = await request('http://users/o', {
        method: 'POST',
        body: 'again',
        headers: { 'x-switchyard-idempotent': 'true' },
        dispatcher,
      });
      expect(((await res.body.json()) as { instance: string }).instance).toBe('users-3');
    });

    it('rejects a bad override header with a ValidationError, sending nothing', async () => {
      const error = await undiciFetch('http://users/bad', {
        headers: { 'x-switchyard-timeout-ms': 'soon' },
        dispatcher,
      }).catch((e: unknown) => e);
      expect(causes(error).some((e) => e instanceof ValidationError)).toBe(true);
      expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(0);
    });

    it('fails a request for a service the registry does not know with ServiceNotFoundError, releasing its body', async () => {
      const body = Readable.from(['never read']);
      const error = await request('http://payments/x', { method: 'POST', body, dispatcher }).catch(
        (e: unknown) => e,
      );
      expect(causes(error).some((e) => e instanceof ServiceNotFoundError)).toBe(true);
      expect(body.destroyed).toBe(true);
    });

    it('x-switchyard-timeout-ms ends a call whose instances do not answer', async () => {
      for (const backend of backends.list) backend.hang();
      const error = await undiciFetch('http://users/slow', {
        headers: { 'x-switchyard-timeout-ms': '200' },
        dispatcher,
      }).catch((e: unknown) => e);
      expect(causes(error).some((e) => (e as Error).name === 'TimeoutError')).toBe(true);
      for (const backend of backends.list) backend.reset();
    });

    it('aborting the fetch ends the request and sends nothing more', async () => {
      for (const backend of backends.list) backend.hang();
      const controller = new AbortController();
      const pending = undiciFetch('http://users/abort', { signal: controller.signal, dispatcher });
      while (backends.list.reduce((sum, b) => sum + b.requests, 0) === 0)
        await new Promise((r) => setTimeout(r, 10));
      controller.abort();
      await expect(pending).rejects.toThrow(/abort/i);
      expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(1);
      for (const backend of backends.list) backend.reset();
    });
  });

  describe('switchyard() and the client', () => {
    it('routes by x-switchyard-hash-key on a consistent-hash service', async () => {
      await setUp({ balancer: consistentHash() });
      const headers = { 'x-switchyard-hash-key': 'user-42' };
      const first = await getInstance('http://users/h', { headers });
      for (let i = 0; i < 10; i++) expect(await getInstance('http://users/h', { headers })).toBe(first);
    });

    it('feeds in-flight counts to leastConnections', async () => {
      await setUp({ balancer: leastConnections() });
      for (const backend of backends.list) backend.hang(1);
      const pending = [1, 2, 3].map((i) => undiciFetch(`http://users/held/${i}`, { dispatcher }));
      while (backends.list.some((b) => b.requests === 0)) await new Promise((r) => setTimeout(r, 10));
      const inflight = Object.values(client.stats().users?.instances ?? {}).map((i) => i.inflight);
      expect(inflight).toEqual([1, 1, 1]);
      for (const backend of backends.list) backend.reset();
      for (const res of await Promise.all(pending)) expect(res.status).toBe(200);
    });

    it('reports 5xx answers to outlier detection: an instance answering 500 is ejected', async () => {
      await setUp({
        outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 60_000, maxEjectionPercent: 50 },
      });
      const ejected: string[] = [];
      client.on('ejected', (event) => ejected.push(event.instanceId));
      backends.list[0]?.failWith(500, 1_000);
      for (let i = 0; i < 12; i++) {
        const res = await undiciFetch('http://users/x', { dispatcher });
        await res.arrayBuffer();
      }
      expect(ejected).toEqual(['users-1']);
      // Once ejected, it gets nothing more: the 500s reached the caller only before that.
      const before = backends.list[0]?.requests ?? 0;
      for (let i = 0; i < 6; i++) expect(await getInstance('http://users/y')).not.toBe('users-1');
      expect(backends.list[0]?.requests).toBe(before);
    });

    it('routes only the hosts a rule names', async () => {
      await setUp();
      dispatcher = agent.compose(switchyard(client, { services: { suffix: '.svc' } }));
      expect(await getInstance('http://users.svc/a')).toMatch(/^users-/);
      const error = await undiciFetch('http://users/a', { dispatcher }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError); // 'users' went to DNS, which does not know it
    });
  });

  describe('TLS', () => {
    const fixture = (name: string) =>
      readFileSync(fileURLToPath(new URL(`../../test-support/fixtures/${name}`, import.meta.url)));
    // A test-only self-signed certificate for the name "users" (no IP address in it).
    const cert = fixture('users-cert.pem');
    const key = fixture('users-key.pem');

    it('https://users reaches a TLS instance by address and verifies its certificate against "users"', async () => {
      const server = createHttpsServer({ cert, key }, (req, res) => {
        res.end(JSON.stringify({ host: req.headers.host, servername: (req.socket as TLSSocket).servername }));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as AddressInfo).port;
      registry = new InMemoryRegistry();
      await registry.register({ id: 'users-tls', service: 'users', host: '127.0.0.1', port, secure: true });
      client = new ServiceDiscoveryClient({ registry });
      agent = new u.Agent({ connect: { ca: cert } });
      try {
        const res = await undiciFetch('https://users/me', { dispatcher: agent.compose(switchyard(client)) });
        expect(await res.json()).toEqual({ host: 'users', servername: 'users' });

        // Another name is checked against the same certificate, and fails.
        const other = agent.compose(switchyard(client, { servername: () => 'orders' }));
        const error = await undiciFetch('https://users/me', { dispatcher: other }).catch((e: unknown) => e);
        expect(
          causes(error).some((e) => (e as { code?: string }).code === 'ERR_TLS_CERT_ALTNAME_INVALID'),
        ).toBe(true);
      } finally {
        server.close();
        server.closeAllConnections();
      }
    });
  });

  describe('a handler that throws', () => {
    it('does not take the process down when it throws on the error it is given', async () => {
      await setUp();
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        let told = false;
        dispatcher.dispatch(
          { origin: 'http://nobody', path: '/', method: 'GET' },
          {
            onRequestStart() {},
            onResponseError() {
              told = true;
              throw new Error('handler bug');
            },
          },
        );
        while (!told) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 50));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });
});

describe("Node's global fetch", () => {
  const bundledMajor = Number(process.versions.undici?.split('.')[0]);

  it(`works with the composed undici 7 dispatcher (bundled undici ${process.versions.undici})`, async () => {
    u = undici7;
    await setUp();
    const res = await globalThis.fetch('http://users/global', { dispatcher } as unknown as RequestInit);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { path: string }).path).toBe('/global');
    expect(backends.list.flatMap((b) => b.log)[0]?.headers.host).toBe('users');
  });

  // Node 24 bundles undici 7, whose compose() hands over the new handler shape: nothing to refuse.
  it.skipIf(!(bundledMajor < 7))(
    'an undici 6 dispatcher composed with switchyard() fails with UnsupportedDispatcherError',
    async () => {
      const script = fileURLToPath(
        new URL('../../test-support/fixtures/bundled-dispatcher.ts', import.meta.url),
      );
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(JSON.parse(output)).toEqual({
        undici: process.versions.undici,
        outcome: 'rejected',
        cause: 'UnsupportedDispatcherError',
      });
    },
    30_000,
  );

  // undici 8's compose() no longer adapts handlers: Node's own fetch (undici 6 or 7) hands the
  // interceptor its old handler shape, which is refused before anything is sent.
  it.skipIf(undicis.length < 2)(
    `an undici 8 dispatcher refuses it (bundled undici ${process.versions.undici}) with UnsupportedDispatcherError`,
    async () => {
      u = undicis[1]![1];
      await setUp();
      const error = await globalThis
        .fetch('http://users/global', { dispatcher } as unknown as RequestInit)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      const cause = (error as { cause?: Error }).cause;
      expect(cause).toBeInstanceOf(UnsupportedDispatcherError);
      expect(cause?.message).toContain("the undici package's own fetch");
      expect(backends.list.reduce((sum, b) => sum + b.requests, 0)).toBe(0);
    },
  );
});

describe('switchyard() options', () => {
  it('rejects a missing client, unknown options and bad rules with a ValidationError', () => {
    expect(() => switchyard(undefined as never)).toThrow(ValidationError);
    const fake = { dispatchCall: () => undefined } as never;
    expect(() => switchyard(fake, { servces: [] } as never)).toThrow(/did you mean .*services/);
    expect(() => switchyard(fake, { services: { suffix: 'svc' } })).toThrow(ValidationError);
    expect(() => switchyard(fake, { services: ['bad name'] })).toThrow(ValidationError);
  });
});
