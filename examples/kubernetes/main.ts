// Kubernetes discovery, run on a laptop: a mocked API server (the EndpointSlice wire format,
// through msw) drives a real client over three real backends on loopback. Watch a rolling
// update happen: a pod terminates (drained at once), a new one appears (served at once).
//
//   npx -y pnpm@10.34.8 exec tsx examples/kubernetes/main.ts
import { pathToFileURL } from 'node:url';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { KubernetesRegistry } from '@switchyard/registry-kubernetes';
import { endpointSlice, mockKubernetes, readyEndpoint, startBackends } from '@switchyard/testing';
import { setupServer } from 'msw/node';

const API = 'http://kubernetes.local:6443';

export async function main(log: (line: string) => void = console.log): Promise<Record<string, number>[]> {
  const kube = mockKubernetes({ url: API, namespace: 'shop' });
  const server = setupServer(...kube.handlers);
  server.listen({ onUnhandledRequest: 'bypass' }); // only the API server is mocked
  const pods = await startBackends(3, { service: 'users' });
  // In a pod you would write `new KubernetesRegistry({ port: 'http' })`: the service account does the rest.
  const registry = new KubernetesRegistry({ url: API, namespace: 'shop', token: 'demo', port: 'http' });
  const client = new ServiceDiscoveryClient({ registry });
  const rounds: Record<string, number>[] = [];
  try {
    const slice = (index: number, conditions?: object) =>
      endpointSlice(
        `users-${index}`,
        [
          readyEndpoint(`users-${index + 1}`, '127.0.0.1', {
            zone: 'zone-a',
            ...(conditions ? { conditions } : {}),
          }),
        ],
        { ports: [{ name: 'http', port: pods[index]?.port ?? 0, protocol: 'TCP' }] },
      );
    const traffic = async (label: string) => {
      const counts: Record<string, number> = {};
      for (let i = 0; i < 60; i++) {
        const res = await client.request('users', { method: 'GET', path: '/' });
        const { instance } = (await res.body.json()) as { instance: string };
        counts[instance] = (counts[instance] ?? 0) + 1;
      }
      log(`${label.padEnd(44)} ${JSON.stringify(counts)}`);
      rounds.push(counts);
    };
    const settle = async (expected: string) => {
      for (let i = 0; i < 500; i++) {
        const ids = (await client.getInstances('users'))
          .map((instance) => instance.id)
          .sort()
          .join(',');
        if (ids === expected) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };

    kube.apply('users', slice(0));
    kube.apply('users', slice(1));
    await traffic('two pods ready:');
    kube.apply('users', slice(1, { ready: false, serving: true, terminating: true }));
    await settle('users-1');
    await traffic('users-2 terminating (drained):');
    kube.apply('users', slice(2));
    await settle('users-1,users-3');
    await traffic('users-3 ready (served at once):');
    kube.remove('users', 'users-1'); // users-2 finished terminating: its slice goes
    await settle('users-1,users-3');
    // One watch followed every change (the lists are the first resolve and the watch's start).
    log(`requests to the API: ${kube.requests.list} list, ${kube.requests.watch} watch`);
    return rounds;
  } finally {
    await client.close();
    await registry.close();
    await pods.close();
    server.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
