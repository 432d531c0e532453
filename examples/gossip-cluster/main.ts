/**
 * A registry-less cache cluster: N members find each other by SWIM gossip over UDP/TCP on
 * 127.0.0.1, an application node turns the live members into `cache` instances
 * (MembershipRegistry), and both a HashRing and a ServiceDiscoveryClient with consistent hashing
 * follow the cluster as one member crashes and another leaves. Every node shares one keyring, as a
 * production cluster must: without it anyone who reaches the port can forge membership.
 *
 *   npx tsx examples/gossip-cluster/main.ts [nodes=5]
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { consistentHash, HashRing } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import type { ServiceInstance } from '@switchyard/core';
import { formatAddress, Keyring, Membership, MembershipRegistry } from '@switchyard/membership';

const PERIOD = 100; // a short protocol period so the demo runs in seconds
const timing = {
  probeIntervalMs: PERIOD,
  probeTimeoutMs: 50,
  gossipIntervalMs: 30,
  suspicionMult: 4,
  pushPullIntervalMs: 5_000,
};
const KEYS = Array.from({ length: 16 }, (_, i) => `user-${i + 1}`);

export interface ExampleResult {
  /** `cache` instance ids seen by the client at each stage: formed, after the crash, after the leave. */
  readonly views: readonly (readonly string[])[];
  /** Keys whose owner changed when the crashed member left the ring; all were its own. */
  readonly movedKeys: readonly string[];
  readonly crashedOwnedKeys: readonly string[];
  /** For each key, whether the client routed it where the ring says (after the crash). */
  readonly clientAgreesWithRing: boolean;
  /** `client.getInstances('cache')` after the crash. */
  readonly clientInstancesAfterCrash: readonly string[];
}

export async function main(size = 5, log: (line: string) => void = console.log): Promise<ExampleResult> {
  // In production: one 32-byte key from a secret store, the same on every node.
  const keyring = new Keyring([randomBytes(32)]);
  const caches: Membership[] = [];
  for (let i = 1; i <= size; i++) {
    caches.push(
      await Membership.create({
        name: `cache-${i}`,
        metadata: { service: 'cache', port: String(6300 + i), zone: i % 2 ? 'a' : 'b' },
        keyring,
        ...timing,
      }),
    );
  }
  const app = await Membership.create({ name: 'app', keyring, ...timing });
  const seed = formatAddress(caches[0]!.address);
  await Promise.all([...caches.slice(1), app].map((node) => node.join([seed])));
  log(`started ${size} cache members and "app"; seed ${seed}`);

  for (const event of ['joined', 'suspect', 'failed', 'left', 'recovered'] as const) {
    app.on(event, ({ member }) => log(`  · app sees ${member.id} ${event}`));
  }
  // Two nodes started with one name: the first address keeps it; rename the other.
  app.on('conflict', ({ member, other }) =>
    log(`  ! name ${member.id} claimed by ${formatAddress(member)} and ${formatAddress(other)}`),
  );
  const registry = new MembershipRegistry(app, { closeMembership: true });
  const client = new ServiceDiscoveryClient({ registry, balancer: consistentHash() });

  let instances: readonly ServiceInstance[] = [];
  let changed: () => void = () => {};
  const stop = registry.watch('cache', (next) => {
    instances = next;
    changed();
  });
  const viewIs = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`view never reached ${n} instances`)), 300 * PERIOD);
      changed = () => {
        if (instances.length !== n) return;
        clearTimeout(timer);
        resolve();
      };
      changed();
    });

  const views: string[][] = [];
  const show = (title: string) => {
    const ids = instances.map((i) => i.id);
    views.push(ids);
    log(`\n${title}`);
    for (const member of app.members()) {
      log(
        `  ${member.id.padEnd(8)} ${member.state.padEnd(7)} inc=${member.incarnation} ${formatAddress(member)}`,
      );
    }
    log(`  client view of "cache": ${ids.join(', ')}`);
  };
  const owners = (ring: HashRing) => new Map(KEYS.map((key) => [key, ring.get(key)!.id]));

  try {
    await viewIs(size);
    show('cluster formed');
    const before = owners(new HashRing(instances));
    log(`  ring: ${[...before].map(([k, o]) => `${k}→${o}`).join(' ')}`);

    const crashed = caches[1]!;
    const crashedId = crashed.localMember().id;
    const t0 = performance.now();
    log(`\nkilling ${crashedId} (sockets closed, no goodbye)`);
    await crashed.close();
    await viewIs(size - 1);
    log(`  dropped from the view after ${((performance.now() - t0) / PERIOD).toFixed(1)} protocol periods`);
    show(`after ${crashedId} crashed`);
    const after = owners(new HashRing(instances));
    const movedKeys = KEYS.filter((key) => before.get(key) !== after.get(key));
    const crashedOwnedKeys = KEYS.filter((key) => before.get(key) === crashedId);
    log(`  ring: ${[...after].map(([k, o]) => `${k}→${o}${movedKeys.includes(k) ? '*' : ''}`).join(' ')}`);
    log(
      `  moved (*): ${movedKeys.join(', ') || 'none'}; ${crashedId} owned: ${crashedOwnedKeys.join(', ') || 'none'}`,
    );

    const clientInstancesAfterCrash = (await client.getInstances('cache')).map((i) => i.id);
    log(`  client.getInstances('cache'): ${clientInstancesAfterCrash.join(', ')}`);
    let agrees = true;
    for (const key of KEYS) {
      const routed = await client.callService('cache', async (instance) => instance.id, { hashKey: key });
      agrees &&= routed === after.get(key);
    }
    log(`  client.callService routes every key to its ring owner: ${agrees}`);

    const leaver = caches[size - 1]!;
    log(`\n${leaver.localMember().id} leaves gracefully`);
    await leaver.leave();
    await leaver.close();
    await viewIs(size - 2);
    show(`after ${leaver.localMember().id} left`);

    return { views, movedKeys, crashedOwnedKeys, clientAgreesWithRing: agrees, clientInstancesAfterCrash };
  } finally {
    stop();
    await client.close();
    await registry.close(); // closes "app" too
    await Promise.all(caches.map((node) => node.close()));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const size = Number(process.argv[2] ?? 5);
  await main(Number.isInteger(size) && size >= 3 ? size : 5);
  process.exit(0);
}
