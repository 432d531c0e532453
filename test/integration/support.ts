import type { ServiceDiscoveryClient } from '@switchyard/client';

/** Sends a GET to `users` and returns the id of the backend that answered (the test echo body). */
export async function answeredBy(client: ServiceDiscoveryClient, path = '/'): Promise<string> {
  const res = await client.request('users', { method: 'GET', path });
  return ((await res.body.json()) as { instance: string }).instance;
}

/** Requests received across backends, from `Backends.counts()`. */
export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
