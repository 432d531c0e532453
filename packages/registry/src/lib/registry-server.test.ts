import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryRegistry } from './in-memory-registry.ts';
import { createRegistryServer, type RegistryServer } from './registry-server.ts';

const servers: RegistryServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(options: Parameters<typeof createRegistryServer>[0] = {}) {
  const server = await createRegistryServer(options);
  servers.push(server);
  return server;
}

/** Sends a raw request (optionally chunked, without content-length) and returns status + body. */
function send(url: string, method: string, path: string, chunks: string[] = [], chunked = false) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const body = chunks.join('');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = String(Buffer.byteLength(body));
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    // The server may close after a 413 while we still write: that is expected.
    req.on('error', (error) => reject(error));
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const good = { id: 'u1', service: 'users', host: '127.0.0.1', port: 8080 };

describe('createRegistryServer', () => {
  it('listens on 127.0.0.1 with a free port and serves the protocol', async () => {
    const server = await start();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect((await send(server.url, 'POST', '/register', [JSON.stringify(good)])).status).toBe(201);
    const answer = await send(server.url, 'GET', '/services/users');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual([good]);
  });

  it('413 for a body over the limit by content-length, and nothing registered', async () => {
    const server = await start({ maxBodyBytes: 256 });
    const body = JSON.stringify({ ...good, metadata: { pad: 'x'.repeat(1000) } });
    expect((await send(server.url, 'POST', '/register', [body])).status).toBe(413);
    expect(server.registry.services()).toEqual([]);
  });

  it('413 for a chunked body that grows past the limit while streaming, and nothing registered', async () => {
    const server = await start({ maxBodyBytes: 256 });
    const pad = 'x'.repeat(200);
    const chunks = [
      '{"id":"u1","service":"users","host":"h","port":1,"metadata":{',
      `"a":"${pad}",`,
      `"b":"${pad}"}}`,
    ];
    expect((await send(server.url, 'POST', '/register', chunks, true)).status).toBe(413);
    expect(server.registry.services()).toEqual([]);
  });

  it('drops a registration whose heartbeats stop, on the real clock', async () => {
    const server = await start();
    expect(
      (await send(server.url, 'POST', '/register', [JSON.stringify({ ...good, ttlMs: 100 })])).status,
    ).toBe(201);
    const gone = new Promise<void>((resolve) => {
      server.registry.watch('users', (list) => {
        if (list.length === 0) resolve();
      });
    });
    await gone; // the sweep timer fired without any read
    expect((await send(server.url, 'PUT', '/services/users/instances/u1/heartbeat')).status).toBe(404);
  });

  it('close() ends a pending long-poll and does not close a registry it was given', async () => {
    const registry = new InMemoryRegistry();
    await registry.register(good);
    const server = await createRegistryServer({ registry });
    const index = registry.indexOf('users');
    const poll = send(server.url, 'GET', `/services/users?index=${index}&waitMs=60000`).then(
      () => 'answered',
      () => 'connection closed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the poll reach the server
    await server.close();
    expect(['answered', 'connection closed']).toContain(await poll);
    await registry.register({ ...good, id: 'u2' });
    expect((await registry.resolve('users')).length).toBe(2);
    await registry.close();
  });

  it('a process that used a server, a client and a watch exits by itself after close()', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'registry-exit-'));
    const entry = fileURLToPath(new URL('../registry.ts', import.meta.url));
    const script = join(dir, 'probe.mts');
    await writeFile(
      script,
      `import { createRegistryServer, HttpRegistry } from ${JSON.stringify(entry)};
const server = await createRegistryServer();
await server.registry.register({ id: 'a', service: 's', host: '127.0.0.1', port: 1 }, { ttlMs: 60000 });
const registry = new HttpRegistry({ url: server.url });
await new Promise((resolve) => registry.watch('s', resolve));
await registry.close();
await server.close();
console.log('closed');
`,
    );
    try {
      const output = await new Promise<string>((resolve, reject) => {
        // No exit call in the probe: it ends only if nothing (timer, socket, poll) is left.
        execFile(process.execPath, ['--import', 'tsx', script], { timeout: 15_000 }, (error, stdout) =>
          error ? reject(error) : resolve(stdout),
        );
      });
      expect(output.trim()).toBe('closed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('past maxConnections a new connection gets 503 with Retry-After and is closed', async () => {
    const server = await start({ maxConnections: 2 });
    await server.registry.register(good);
    const index = server.registry.indexOf('users');
    // Two long-polls hold the two allowed connections.
    const polls = [0, 1].map(() => send(server.url, 'GET', `/services/users?index=${index}&waitMs=60000`));
    await waitFor(async () => (await connectionCount(server)) >= 2);
    const refused = await rawRequest(server.port, 'GET /services/users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(refused).toMatch(/^HTTP\/1\.1 503/);
    expect(refused.toLowerCase()).toContain('retry-after: 5');
    await server.registry.register({ ...good, id: 'u2' });
    expect((await Promise.all(polls)).map((answer) => answer.status)).toEqual([200, 200]);
  });

  it('closes a socket that never finishes its headers (headersTimeoutMs)', async () => {
    const server = await start({ headersTimeoutMs: 300 });
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /services HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '); // …and nothing more
    socket.resume(); // read (and drop) the 408, so 'close' can follow
    const started = Date.now();
    await once(socket, 'close');
    // Closed by the server long before Node's default of 60 s (generous bound for a loaded machine).
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});

/** Writes a raw request on a fresh socket and returns everything the server sent until it closed. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

async function connectionCount(server: RegistryServer): Promise<number> {
  return server.connections();
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
