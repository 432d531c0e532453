import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpRegistry } from './http-registry.ts';
import { InMemoryRegistry } from './in-memory-registry.ts';
import { createRegistryHandler } from './registry-handler.ts';

// The registry is built BEFORE msw patches fetch: requests must still be intercepted, because
// HttpRegistry looks the global fetch up per request.
const registry = new HttpRegistry({ url: 'http://registry.mock', backoff: { initialMs: 10, maxMs: 20 } });
const store = new InMemoryRegistry();
const handle = createRegistryHandler(store);
const server = setupServer(
  http.all('http://registry.mock/*', async ({ request }) => {
    const url = new URL(request.url);
    const answer = await handle({
      method: request.method,
      pathname: url.pathname,
      searchParams: url.searchParams,
      bodyText: await request.text(),
      signal: request.signal,
      headers: request.headers,
    });
    return new HttpResponse(answer.status === 204 ? null : answer.body, answer);
  }),
);
server.listen({ onUnhandledRequest: 'error' });

afterAll(async () => {
  await registry.close();
  server.close();
  await store.close();
});

describe('HttpRegistry under msw (the shared protocol handler)', () => {
  it('registers, resolves and watches through msw installed after construction', async () => {
    await registry.register({ id: 'u1', service: 'users', host: '127.0.0.1', port: 8080 }, { ttlMs: 60_000 });
    expect((await registry.resolve('users')).map((i) => i.id)).toEqual(['u1']);
    const lists: string[][] = [];
    const changed = new Promise<void>((resolve) => {
      registry.watch('users', (list) => {
        lists.push(list.map((i) => i.id).sort());
        if (list.length === 2) resolve();
      });
    });
    await store.register({ id: 'u2', service: 'users', host: '127.0.0.1', port: 8081 });
    await changed;
    expect(lists.at(-1)).toEqual(['u1', 'u2']);
  });

  it('a network error from msw is a RegistryUnavailableError', async () => {
    server.use(http.get('http://registry.mock/services', () => HttpResponse.error()));
    await expect(registry.services()).rejects.toMatchObject({ name: 'RegistryUnavailableError' });
  });
});
