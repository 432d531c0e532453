import { ValidationError } from '@switchyard/core';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Backends, startBackends } from './start-backends.ts';

const agent = new Agent({ keepAliveTimeout: 1_000 });
let backends: Backends | undefined;

afterEach(async () => {
  await backends?.close();
  backends = undefined;
});
afterAll(() => agent.close());

async function start(n = 1, options: Parameters<typeof startBackends>[1] = {}) {
  backends = await startBackends(n, { service: 'users', ...options });
  return backends;
}

function send(url: string, options: Parameters<typeof request>[1] = {}) {
  return request(url, { dispatcher: agent, ...options });
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}

describe('Backend', () => {
  it('answers 200 with who answered, the method, the path and the body, and logs each request once', async () => {
    const [a] = await start();
    const get = await send(`${a!.url}/users/42`);
    expect(get.statusCode).toBe(200);
    expect(await get.body.json()).toEqual({ instance: 'users-1', method: 'GET', path: '/users/42' });
    const post = await send(`${a!.url}/users`, { method: 'POST', body: '{"name":"ada"}' });
    expect(await post.body.json()).toEqual({
      instance: 'users-1',
      method: 'POST',
      path: '/users',
      body: '{"name":"ada"}',
    });
    expect(a!.requests).toBe(2);
    expect(a!.log.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: 'GET', path: '/users/42', body: '' },
      { method: 'POST', path: '/users', body: '{"name":"ada"}' },
    ]);
  });

  it('down() refuses connections and drops open sockets; up() listens again on the same port', async () => {
    const [a] = await start();
    const port = a!.port;
    a!.hang();
    const inFlight = send(`${a!.url}/slow`);
    await waitFor(() => a!.requests === 1);
    await a!.down();
    await expect(inFlight).rejects.toMatchObject({
      code: expect.stringMatching(/UND_ERR_SOCKET|ECONNRESET/),
    });
    await expect(send(`${a!.url}/x`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(a!.listening).toBe(false);
    await a!.up();
    a!.reset();
    expect(a!.port).toBe(port);
    expect((await send(`${a!.url}/x`)).statusCode).toBe(200);
  });

  it('kill() is down() for good: up() refuses', async () => {
    const [a] = await start();
    await a!.kill();
    await expect(send(`${a!.url}/x`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(a!.up()).rejects.toThrow(/killed/);
  });

  it('failWith(status, count) answers status with a JSON body for exactly count requests', async () => {
    const [a] = await start();
    a!.failWith(503, 2);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await send(`${a!.url}/x`);
      statuses.push(res.statusCode);
      if (res.statusCode === 503) expect(await res.body.json()).toMatchObject({ instance: 'users-1' });
      else await res.body.dump();
    }
    expect(statuses).toEqual([503, 503, 200]);
    expect(a!.requests).toBe(3);
  });

  it('failWith() can add headers, e.g. Retry-After on a 429', async () => {
    const [a] = await start();
    a!.failWith(429, 1, { headers: { 'retry-after': '2' } });
    const res = await send(`${a!.url}/x`);
    expect([res.statusCode, res.headers['retry-after']]).toEqual([429, '2']);
    await res.body.dump();
    // Tried: a header value that is not a string.
    expect(() => a!.failWith(503, 1, { headers: { 'retry-after': 2 as unknown as string } })).toThrow(
      /failWith\.headers/,
    );
  });

  it('failWith() without a count fails until reset()', async () => {
    const [a] = await start();
    a!.failWith(500);
    for (let i = 0; i < 5; i++) expect((await send(`${a!.url}/x`)).statusCode).toBe(500);
    a!.reset();
    expect((await send(`${a!.url}/x`)).statusCode).toBe(200);
  });

  it('slow(ms) delays the answer by at least ms, failures included; slow(0) turns it off', async () => {
    const [a] = await start();
    a!.slow(150);
    a!.failWith(502, 1);
    const began = performance.now();
    const res = await send(`${a!.url}/x`);
    expect(res.statusCode).toBe(502);
    // Timers may fire a millisecond early; the point is that the answer waited.
    expect(performance.now() - began).toBeGreaterThanOrEqual(145);
    a!.slow(10_000);
    await expect(send(`${a!.url}/x`, { headersTimeout: 100 })).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    a!.slow(0);
    expect((await send(`${a!.url}/x`)).statusCode).toBe(200);
  });

  it('hang() reads the request and never answers; reset() releases the held request', async () => {
    const [a] = await start();
    a!.hang();
    await expect(send(`${a!.url}/x`, { headersTimeout: 100 })).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    const held = send(`${a!.url}/held`, { method: 'POST', body: 'payload' });
    await waitFor(() => a!.requests === 2);
    expect(a!.log[1]).toMatchObject({ method: 'POST', path: '/held', body: 'payload' });
    a!.reset();
    const res = await held;
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ instance: 'users-1', path: '/held' });
  });

  it('resetMidBody() sends the headers and part of the body, then destroys the socket', async () => {
    const [a] = await start();
    a!.resetMidBody(1);
    const outcome = await (async () => {
      const res = await send(`${a!.url}/x`);
      expect(res.statusCode).toBe(200);
      return res.body.text();
    })().catch((error: unknown) => error);
    // Depending on timing undici fails in request() or while reading the body; never a whole answer.
    expect(outcome).toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(a!.requests).toBe(1);
    expect((await send(`${a!.url}/x`)).statusCode).toBe(200);
  });

  it('dropConnection() reads the request, then closes the socket with no answer at all', async () => {
    const [a] = await start();
    a!.dropConnection(1);
    await expect(send(`${a!.url}/orders`, { method: 'POST', body: '{"n":1}' })).rejects.toMatchObject({
      code: 'UND_ERR_SOCKET',
    });
    expect(a!.log.map((r) => [r.method, r.path, r.body])).toEqual([['POST', '/orders', '{"n":1}']]);
    expect((await send(`${a!.url}/x`)).statusCode).toBe(200);
  });

  it('GET /health follows setHealth() and is neither counted nor logged', async () => {
    const [a] = await start();
    const up = await send(`${a!.url}/health`);
    expect([up.statusCode, await up.body.json()]).toEqual([200, { status: 'up', instance: 'users-1' }]);
    a!.setHealth(false);
    const down = await send(`${a!.url}/health`);
    expect([down.statusCode, await down.body.json()]).toEqual([503, { status: 'down', instance: 'users-1' }]);
    a!.reset();
    expect((await send(`${a!.url}/health`)).statusCode).toBe(200);
    expect(a!.requests).toBe(0);
  });

  it('a custom handler answers with the request body already read', async () => {
    const [a] = await start(1, {
      handler: (_req, res, backend, body) => {
        res.writeHead(201, { 'content-type': 'text/plain' });
        res.end(`${backend.id}:${body.toUpperCase()}`);
      },
    });
    const res = await send(`${a!.url}/x`, { method: 'POST', body: 'hi' });
    expect([res.statusCode, await res.body.text()]).toEqual([201, 'users-1:HI']);
  });

  it('a handler that throws becomes a 500, not a crash', async () => {
    const [a] = await start(1, {
      handler: () => {
        throw new Error('boom');
      },
    });
    const res = await send(`${a!.url}/x`);
    expect(res.statusCode).toBe(500);
    expect(await res.body.json()).toMatchObject({ error: 'Error: boom', instance: 'users-1' });
  });

  it('a body over maxBodyBytes answers 413', async () => {
    const [a] = await start(1, { maxBodyBytes: 10 });
    const res = await send(`${a!.url}/x`, { method: 'POST', body: 'x'.repeat(11) });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
    expect(a!.requests).toBe(0);
  });

  it('rejects bad fault arguments with a ValidationError naming them', async () => {
    const [a] = await start();
    // Tried: negative and NaN delays, a status outside 100..599, zero and fractional counts.
    expect(() => a!.slow(-1)).toThrow(ValidationError);
    expect(() => a!.slow(Number.NaN)).toThrow(/slow\.ms/);
    expect(() => a!.failWith(99)).toThrow(/failWith\.status/);
    expect(() => a!.failWith(700)).toThrow(ValidationError);
    expect(() => a!.failWith(503, 0)).toThrow(/failWith\.count/);
    expect(() => a!.hang(1.5)).toThrow(/hang\.count/);
    expect(() => a!.resetMidBody(-2)).toThrow(/resetMidBody\.count/);
    expect(() => a!.dropConnection(0)).toThrow(/dropConnection\.count/);
    // Nothing was armed by the rejected calls.
    expect((await send(`${a!.url}/x`)).statusCode).toBe(200);
  });
});
