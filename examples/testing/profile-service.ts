import type { ServiceDiscoveryClient } from '@switchyard/client';

/** What this (example) service answers: a user's display profile, built from the users service. */
export interface Profile {
  readonly id: string;
  readonly displayName: string;
  /** Which instance of `users` answered: handy in tests, harmless in production. */
  readonly servedBy: string;
}

/**
 * The code under test: your service calls its peers by name through Switchyard. Nothing here
 * knows about tests; the test file gives it a client wired to a mocked registry.
 */
export async function loadProfile(client: ServiceDiscoveryClient, id: string): Promise<Profile> {
  const res = await client.request('users', { method: 'GET', path: `/users/${encodeURIComponent(id)}` });
  if (res.statusCode === 404) {
    await res.body.dump();
    throw new Error(`no user ${id}`);
  }
  const user = (await res.body.json()) as { id: string; name: string; instance: string };
  return { id: user.id, displayName: user.name.toUpperCase(), servedBy: user.instance };
}
