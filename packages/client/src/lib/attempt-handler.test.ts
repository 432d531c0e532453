import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServiceInstance, ValidationError } from '@switchyard/core';
import type { AttemptContext } from '@switchyard/resilience';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpStatusError } from './http-status-error.ts';
import { OriginPools } from './origin-pools.ts';
import { type HttpRequest, type HttpResponse, sendRequestTo } from './send-request.ts';
import { ResponseBodyClass } from './undici-body.ts';

const BIG = 4 * 1024 * 1024;
let server: Server;
let instance: ServiceInstance;
let refusing: ServiceInstance;
let arrived = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    arrived++;
    switch (req.url) {
      case '/json':
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
        return;
      case '/head':
        res.setHeader('content-length', '5');
        res.end(req.method === 'HEAD' ? undefined : 'hello');
        return;
      case '/headers':
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.setHeader('x-one', 'only');
        res.end('ok');
        return;
      case '/trailers':
        res.writeHead(200, { trailer: 'x-checksum' });
        res.write('part');
        res.addTrailers({ 'x-checksum': 'abc' });
        res.end();
        return;
      case '/early-hints':
        res.writeEarlyHints({ link: '</style.css>; rel=preload' });
        res.end('after the hints');
        return;
      case '/big': {
        const chunk = Buffer.alloc(64 * 1024, 120);
        let sent = 0;
        const write = (): void => {
          while (sent < BIG) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', write);
          }
          res.end();
        };
        res.setHeader('content-length', String(BIG));
        write();
        return;
      }
      case '/cut':
        res.writeHead(200, { 'content-length': '1000' });
        res.write('only part of it');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      case '/busy':
        res.writeHead(503, { 'retry-after': '1' });
        res.end('busy, come back later');
        return;
      case '/hang':
        return; // never answers
      default:
        res.end(`${req.method} ${req.url}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  instance = { id: 'users-1', service: 'users', host: '127.0.0.1', port };
  // A port that was just free: nothing listens there.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  refusing = { id: 'users-2', service: 'users', host: '127.0.0.1', port: closedPort };
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A context with nothing to abort it, as a bare attempt. */
const context: AttemptContext = {
  attempt: 1,
  get signal(): AbortSignal {
    throw new Error('ctx.signal was read');
  },
};

it('the installed undici has the body class the dispatch path needs (else every request takes pool.request())', () => {
  expect(ResponseBodyClass).toBeTypeOf('function');
});

// The same answers, read through both ways of sending: undici's dispatch API with Switchyard's
// handler, and pool.request(), taken when undici's body class cannot be found.
describe.each([
  ['the dispatch handler', ResponseBodyClass],
  ['pool.request() (no body class)', null],
])('sendRequestTo through %s', (_name, Body) => {
  let pools: OriginPools;
  beforeAll(() => {
    pools = new OriginPools();
  });
  afterAll(() => pools.close());

  const send = (request: HttpRequest, to: ServiceInstance = instance): Promise<HttpResponse> =>
    new Promise((resolve, reject) => sendRequestTo(pools, to, request, context, { resolve, reject }, Body));

  it('answers with the body users know from pool.request(): json(), text(), arrayBuffer()', async () => {
    const json = await send({ path: '/json' });
    expect(json.statusCode).toBe(200);
    expect(json.headers['content-type']).toBe('application/json');
    expect(json.instance).toBe(instance);
    expect(await json.body.json()).toEqual({ ok: true });
    expect(await (await send({ path: '/echo', method: 'POST', body: 'x' })).body.text()).toBe('POST /echo');
    const bytes = await (await send({ path: '/q', query: { a: 1, b: ['x', 'y'] } })).body.arrayBuffer();
    expect(Buffer.from(bytes).toString()).toBe('GET /q?a=1&b=x&b=y');
    if (Body !== null) expect(json.body).toBeInstanceOf(Body);
  });

  it('keeps repeated headers as arrays and hands trailers over once the body ends', async () => {
    const answer = await send({ path: '/headers' });
    expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(answer.headers['x-one']).toBe('only');
    await answer.body.dump();
    const withTrailers = await send({ path: '/trailers' });
    expect(await withTrailers.body.text()).toBe('part');
    expect(withTrailers.trailers).toEqual({ 'x-checksum': 'abc' });
  });

  it('HEAD: a content-length but no body, and the connection is reused after it', async () => {
    const head = await send({ path: '/head', method: 'HEAD' });
    expect(head.headers['content-length']).toBe('5');
    expect(await head.body.text()).toBe('');
    expect(await (await send({ path: '/head' })).body.text()).toBe('hello');
  });

  it('skips 103 Early Hints and answers with the final response', async () => {
    const answer = await send({ path: '/early-hints' });
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.text()).toBe('after the hints');
  });

  it('streams a 4 MiB body with backpressure: every byte arrives, read slowly', async () => {
    const answer = await send({ path: '/big' });
    let size = 0;
    for await (const chunk of answer.body) {
      size += (chunk as Buffer).length;
      if (size % (1024 * 1024) < 64 * 1024) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(size).toBe(BIG);
  });

  it('a body cut short by the server fails the stream the caller reads, not the attempt', async () => {
    const answer = await send({ path: '/cut' });
    expect(answer.statusCode).toBe(200);
    await expect(answer.body.text()).rejects.toThrow();
  });

  it('a 503 ends the attempt as HttpStatusError with the body it read', async () => {
    const error = await send({ path: '/busy' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).statusCode).toBe(503);
    expect((error as HttpStatusError).body).toBe('busy, come back later');
    expect((error as HttpStatusError).headers['retry-after']).toBe('1');
  });

  it('a refused connection ends the attempt with undici’s error', async () => {
    const error = await send({ path: '/' }, refusing).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('bad options from the caller (a header with a newline) end the attempt, never throw from dispatch', async () => {
    let returned = false;
    const sent = new Promise<HttpResponse>((resolve, reject) => {
      sendRequestTo(
        pools,
        instance,
        { path: '/', headers: { 'x-bad': 'a\r\nb' } },
        context,
        { resolve, reject },
        Body,
      );
      returned = true;
    });
    expect(returned).toBe(true);
    await expect(sent).rejects.toThrow(/header/i);
  });

  it('an attempt already aborted is never sent', async () => {
    const before = arrived;
    const reason = new Error('aborted before it started');
    const aborted: AttemptContext = {
      attempt: 1,
      signal: AbortSignal.abort(reason),
      abortTarget: { aborted: true, reason, addEventListener() {}, removeEventListener() {} },
    };
    const sent = new Promise<HttpResponse>((resolve, reject) =>
      sendRequestTo(pools, instance, { path: '/hang' }, aborted, { resolve, reject }, Body),
    );
    await expect(sent).rejects.toBe(reason);
    expect(await (await send({ path: '/after' })).body.text()).toBe('GET /after');
    expect(arrived - before).toBe(1); // only /after reached the server
  });

  it('rejects CONNECT before sending anything: it opens a tunnel, it is not a request', () => {
    const before = arrived;
    expect(() =>
      sendRequestTo(
        pools,
        instance,
        { path: '/', method: 'CONNECT' },
        context,
        { resolve() {}, reject() {} },
        Body,
      ),
    ).toThrow(ValidationError);
    expect(arrived).toBe(before);
  });
});
