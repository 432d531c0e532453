import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ManualClock,
  RegistryProtocolError,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpRegistry } from './http-registry.ts';
import type { HttpRegistryEvents, HttpRegistryOptions } from './http-registry-types.ts';
import { RegistryBusyError } from './registry-errors.ts';

const instance = (id: string): ServiceInstance => ({ id, service: 'users', host: '127.0.0.1', port: 8080 });

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real HTTP server whose answers the test scripts (`handler` can be swapped at any time). */
async function scripted(first: Handler): Promise<{ url: string; set(handler: Handler): void }> {
  let handler = first;
  const server: Server = createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set: (next) => {
      handler = next;
    },
  };
}

const listAnswer =
  (list: unknown[], index = 1): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-registry-index': String(index) });
    res.end(JSON.stringify(list));
  };

function client(options: HttpRegistryOptions): HttpRegistry {
  const registry = new HttpRegistry({ backoff: { initialMs: 10, maxMs: 50 }, ...options });
  cleanup.push(() => registry.close());
  return registry;
}

describe('HttpRegistry options', () => {
  it.each([
    ['no options at all', undefined, 'url'],
    ['no url', {}, 'url'],
    ['a url that is not one', { url: 'registry:4000' }, 'url'],
    ['an unknown key', { url: 'http://127.0.0.1:1', timeout: 5 }, 'HttpRegistry options.timeout'],
    ['a number as a string', { url: 'http://127.0.0.1:1', maxInstances: '10' }, 'maxInstances'],
    ['an empty token', { url: 'http://127.0.0.1:1', token: '' }, 'token'],
    ['tls with a custom fetch', { url: 'https://127.0.0.1:1', tls: {}, fetch }, 'tls'],
    ['tls.cert without tls.key', { url: 'https://127.0.0.1:1', tls: { cert: 'x' } }, 'tls.key'],
  ])('%s → ValidationError naming the field, not a TypeError', (_what, options, field) => {
    let error: unknown;
    try {
      new HttpRegistry(options as HttpRegistryOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it('an unknown key suggests the right name', () => {
    expect(() => new HttpRegistry({ url: 'http://127.0.0.1:1', timeout: 5 } as HttpRegistryOptions)).toThrow(
      /did you mean HttpRegistry options\.timeoutMs\?/,
    );
  });
});

describe('HttpRegistry: a 404 from something that is not a registry', () => {
  it.each([
    ['an HTML page', 'text/html', '<h1>Not Found</h1>'],
    ['plain text', 'text/plain', '404 page not found'],
    ['JSON without an error field', 'application/json', '{"message":"nope"}'],
  ])('%s → RegistryProtocolError, not ServiceNotFoundError', async (_what, type, body) => {
    const server = await scripted((_req, res) => {
      res.writeHead(404, { 'content-type': type });
      res.end(body);
    });
    const error = await client({ url: server.url })
      .resolve('users')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect(error).not.toBeInstanceOf(ServiceNotFoundError);
  });

  it("the registry's own 404 still means ServiceNotFoundError", async () => {
    const server = await scripted((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: 'service users not found', service: 'users' }));
    });
    await expect(client({ url: server.url }).resolve('users')).rejects.toBeInstanceOf(ServiceNotFoundError);
  });
});

describe('HttpRegistry answers are bounded', () => {
  it('a Content-Length above maxResponseBytes is refused before the body is read', async () => {
    let written = 0;
    const server = await scripted((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(64 * 2 ** 20) });
      // Start a 64 MiB body; the client must not wait for (or keep) it.
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < 64 * 2 ** 20 && res.write(chunk)) written += chunk.length;
      };
      res.on('drain', pump);
      pump();
    });
    const error = await client({ url: server.url, maxResponseBytes: 1024 * 1024 })
      .resolve('users')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as Error).message).toMatch(/maxResponseBytes/);
    expect(written).toBeLessThan(64 * 2 ** 20);
  });

  it('an endless chunked body is cut off at maxResponseBytes', async () => {
    const server = await scripted((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-registry-index': '1' });
      res.write('[');
      const chunk = `${JSON.stringify(instance('x'))},`.repeat(200);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
      };
      res.on('drain', pump);
      res.on('error', () => {});
      pump();
    });
    const error = await client({ url: server.url, maxResponseBytes: 256 * 1024 })
      .resolve('users')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as Error).message).toMatch(/more than 262144 bytes/);
  });

  it('a list longer than maxInstances is refused whole', async () => {
    const list = Array.from({ length: 11 }, (_, i) => instance(`u${i}`));
    const server = await scripted(listAnswer(list));
    const registry = client({ url: server.url, maxInstances: 10 });
    const invalid: unknown[] = [];
    registry.on('invalidInstance', (event) => invalid.push(event));
    const error = await registry.resolve('users').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as Error).message).toMatch(/more than maxInstances \(10\)/);
    expect(invalid).toEqual([]); // refused before any entry was validated
  });

  it('an endless list is refused once it streams past maxInstances entries, long before maxResponseBytes', async () => {
    let written = 0;
    const server = await scripted((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-registry-index': '1' });
      res.write('[');
      const chunk = Buffer.from(`${JSON.stringify(instance('x'))},`.repeat(100));
      const pump = () => {
        while (!res.destroyed && written < 256 * 2 ** 20 && res.write(chunk)) written += chunk.length;
      };
      res.on('drain', pump);
      res.on('error', () => {});
      pump();
    });
    const error = await client({ url: server.url, maxInstances: 1_000 })
      .resolve('users')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryProtocolError);
    expect((error as Error).message).toMatch(
      /more than maxInstances \(1000\) entries; refused while streaming/,
    );
    expect(written).toBeLessThan(16 * 2 ** 20); // stopped far below the 16 MiB byte cap
  });

  it('a watch keeps its last good list when the answers turn oversized, and says why', async () => {
    const server = await scripted(listAnswer([instance('u1')], 1));
    const registry = client({ url: server.url, maxInstances: 5 });
    const lists: Array<readonly ServiceInstance[]> = [];
    const errors: Array<HttpRegistryEvents['error']> = [];
    registry.on('error', (event) => errors.push(event));
    const stale = new Promise((resolve) => registry.once('registryStale', resolve));
    const first = new Promise((resolve) => {
      const stop = registry.watch('users', (list) => {
        lists.push(list);
        resolve(list);
      });
      cleanup.push(async () => stop());
    });
    await first;
    server.set(
      listAnswer(
        Array.from({ length: 6 }, (_, i) => instance(`big${i}`)),
        2,
      ),
    );
    await stale;
    while (errors.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors[0]?.error).toBeInstanceOf(RegistryProtocolError);
    expect(lists.map((list) => list.map((i) => i.id))).toEqual([['u1']]);
  });
});

describe('invalidInstance fires once per distinct bad entry', () => {
  it('not again on every resolve and watch poll that sees the same entry', async () => {
    const bad = { ...instance('bad'), port: 0 };
    let index = 1;
    const server = await scripted((_req, res) => {
      // Every answer a new index: each poll is a "change" that re-reads the same bad entry.
      res.writeHead(200, { 'content-type': 'application/json', 'x-registry-index': String(index++) });
      res.end(JSON.stringify([instance('good'), bad]));
    });
    const registry = client({ url: server.url });
    const reported: Array<HttpRegistryEvents['invalidInstance']> = [];
    registry.on('invalidInstance', (event) => reported.push(event));
    await registry.resolve('users');
    await registry.resolve('users');
    const stop = registry.watch('users', () => {});
    while (index < 8) await new Promise((resolve) => setTimeout(resolve, 10));
    stop();
    expect(reported.length).toBe(1);
    expect(reported[0]?.error.field).toBe('port');
    // A different bad entry is news: reported once too.
    server.set(listAnswer([instance('good'), { ...bad, id: 'bad-2' }], 99));
    await registry.resolve('users');
    await registry.resolve('users');
    expect(reported.map((event) => (event.entry as { id: string }).id)).toEqual(['bad', 'bad-2']);
  });
});

describe('a busy registry (503 + Retry-After)', () => {
  it('the watch waits at least Retry-After before asking again, and throws RegistryBusyError', async () => {
    const clock = new ManualClock();
    let requests = 0;
    const server = await scripted((_req, res) => {
      requests++;
      if (requests === 1) return listAnswer([instance('u1')])(_req, res);
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ error: 'too many watchers' }));
    });
    const registry = client({ url: server.url, clock });
    const errors: Array<HttpRegistryEvents['error']> = [];
    registry.on('error', (event) => errors.push(event));
    const stop = registry.watch('users', () => {});
    cleanup.push(async () => stop());
    while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors[0]?.error).toBeInstanceOf(RegistryBusyError);
    expect((errors[0]?.error as RegistryBusyError).retryAfterMs).toBe(1_000);
    clock.advance(900); // the backoff alone (10–50 ms) would have asked again by now
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(requests).toBe(2);
    clock.advance(200);
    while (requests < 3) await new Promise((resolve) => setTimeout(resolve, 10));
  });
});
