/**
 * Existing fetch code gets discovery and failover by adding one dispatcher: three "users"
 * instances in a registry, `fetch('http://users/…')` spread over them, one instance killed
 * mid-way without a failed request, and a request to an ordinary host passed through.
 *
 *   npx -y pnpm@10.34.8 exec tsx examples/fetch/main.ts
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { switchyard } from '@switchyard/fetch';
import { InMemoryRegistry } from '@switchyard/registry';
import { Agent, fetch } from 'undici';

/** One instance of "users": answers with its id and the Host header it received. */
async function startUsers(id: string): Promise<{ id: string; port: number; server: Server }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ from: id, host: req.headers.host, path: req.url }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { id, port: (server.address() as AddressInfo).port, server };
}

export async function main(log: (line: string) => void = console.log) {
  const registry = new InMemoryRegistry();
  const users = await Promise.all(['users-1', 'users-2', 'users-3'].map(startUsers));
  for (const { id, port } of users)
    await registry.register({ id, service: 'users', host: '127.0.0.1', port });
  const client = new ServiceDiscoveryClient({ registry });

  // The two lines an application adds; every fetch below is unchanged code.
  const agent = new Agent();
  const dispatcher = agent.compose(switchyard(client));

  const answeredBy = new Map<string, number>();
  let failed = 0;
  const getUser = async (n: number) => {
    try {
      const res = await fetch(`http://users/users/${n}`, { dispatcher });
      const body = (await res.json()) as { from: string; host: string };
      answeredBy.set(body.from, (answeredBy.get(body.from) ?? 0) + 1);
      return body;
    } catch (error) {
      failed++;
      log(`  ✗ request ${n} failed: ${(error as Error).message}`);
      return undefined;
    }
  };

  const first = await getUser(0);
  log(`fetch('http://users/users/0') answered by ${first?.from}, which saw Host: ${first?.host}`);
  for (let n = 1; n < 30; n++) await getUser(n);
  log(`30 requests: ${[...answeredBy].map(([id, count]) => `${id} ${count}`).join(', ')}`);

  log('killing users-2 (its port now refuses connections; the registry still lists it)');
  const victim = users[1]!.server;
  victim.close();
  victim.closeAllConnections();
  answeredBy.clear();
  await Promise.all(Array.from({ length: 60 }, (_, n) => getUser(100 + n)));
  log(
    `60 more requests: ${[...answeredBy].map(([id, count]) => `${id} ${count}`).join(', ')}; failed: ${failed}`,
  );

  const direct = await fetch(`http://127.0.0.1:${users[0]!.port}/direct`, { dispatcher });
  const directBody = (await direct.json()) as { from: string };
  log(`a request to 127.0.0.1 passed through untouched: answered by ${directBody.from}`);

  await client.close();
  await agent.close();
  for (const { server } of users) server.close();
  return { failed, afterKill: [...answeredBy.keys()].sort() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
