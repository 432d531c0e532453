import { createSocket } from 'node:dgram';
import {
  ManualClock,
  RegistryProtocolError,
  RegistryUnavailableError,
  type ServiceInstance,
  ServiceNotFoundError,
  SwitchyardError,
  ValidationError,
} from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsServer, hasDnsmasq, requireBinary, startDnsServer } from '../../test-support/dns-server.ts';
import type { DnsRegistryEvents } from './dns-events.ts';
import { ZERO_SRV_WEIGHT } from './dns-lookup.ts';
import type { DnsRegistryOptions } from './dns-options.ts';
import { DnsRegistry } from './dns-registry.ts';
import { srvTtlMs } from './srv-ttl.ts';

const run = requireBinary('dnsmasq', hasDnsmasq);

async function waitFor<T>(what: string, check: () => T, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id).sort();

function hostsNow(): Record<string, readonly string[]> {
  return {
    'a.sy.test': ['10.1.0.1'],
    'b.sy.test': ['10.1.0.2', 'fd00::2'],
    'c.sy.test': ['10.1.0.3'],
    'api.sy.test': ['10.2.0.1', '10.2.0.2'],
  };
}

const srvName = (service: string) => `_${service}._tcp.sy.test`;

const initialSrv = [
  { name: srvName('users'), target: 'a.sy.test', port: 8080, priority: 10, weight: 5 },
  { name: srvName('users'), target: 'b.sy.test', port: 8081, priority: 10, weight: 0 },
  { name: srvName('users'), target: 'z.sy.test', port: 0, priority: 10, weight: 5 },
  { name: srvName('users'), target: 'ghost.sy.test', port: 8082, priority: 10, weight: 5 },
  { name: srvName('users'), target: 'c.sy.test', port: 9000, priority: 20, weight: 5 },
  { name: srvName('pay'), target: 'ghost.sy.test', port: 7000, priority: 1, weight: 1 },
  { name: srvName('pay'), target: 'c.sy.test', port: 7001, priority: 2, weight: 3 },
];

describe.skipIf(!run)('DnsRegistry against a real dnsmasq', () => {
  let dns: DnsServer;
  const registry = (options: Partial<DnsRegistryOptions> = {}) =>
    new DnsRegistry({
      mode: 'srv',
      servers: [dns.address],
      nameFor: srvName,
      timeoutMs: 500,
      tries: 1,
      ...options,
    });

  beforeAll(async () => {
    dns = await startDnsServer(
      {
        hosts: hostsNow(),
        srv: initialSrv,
      },
      { ttlSeconds: 5 },
    );
  });
  afterAll(async () => {
    await dns?.close();
  });

  it('SRV: lowest priority group, weights (0 → tiny), ports, targets resolved to A and AAAA', async () => {
    const r = registry();
    const dropped: DnsRegistryEvents['invalidInstance'][] = [];
    r.on('invalidInstance', (event) => dropped.push(event));
    const found = await r.resolve('users');
    expect(ids(found)).toEqual(['10.1.0.1:8080', '10.1.0.2:8081', 'fd00::2:8081']);
    const a = found.find((i) => i.host === '10.1.0.1');
    expect(a).toMatchObject({ port: 8080, weight: 5, metadata: { target: 'a.sy.test', priority: '10' } });
    expect(found.find((i) => i.host === 'fd00::2')?.weight).toBe(ZERO_SRV_WEIGHT);
    // Port 0 and the target without addresses are dropped, each with an event naming it.
    expect(dropped.every((e) => e.service === 'users' && e.reason.length > 0)).toBe(true);
    expect(dropped.map((e) => e.record).sort()).toEqual([
      'ghost.sy.test:8082 (priority 10)',
      'z.sy.test:0 (priority 10)',
    ]);
    expect(dropped.find((e) => e.record.startsWith('z.'))?.reason).toMatch(/port 0/);
  });

  it('reads SRV TTLs, which node:dns hides, straight from the server', async () => {
    expect(await srvTtlMs(dns.address, srvName('users'), 1_000)).toBe(5_000);
    // Tried: a name without SRV records, then a port where no server listens.
    expect(await srvTtlMs(dns.address, srvName('nobody'), 1_000)).toBeUndefined();
    expect(await srvTtlMs('127.0.0.1:9', srvName('users'), 300)).toBeUndefined();
  });

  it('SRV: falls to the next priority when no record of the lowest one is usable', async () => {
    const found = await registry().resolve('pay');
    expect(found).toEqual([
      {
        id: '10.1.0.3:7001',
        service: 'pay',
        host: '10.1.0.3',
        port: 7001,
        weight: 3,
        metadata: { target: 'c.sy.test', priority: '2' },
      },
    ]);
  });

  it('A mode: every address of the name with the configured port', async () => {
    const r = registry({ mode: 'a', port: 8000, nameFor: (service) => `${service}.sy.test` });
    expect(ids(await r.resolve('api'))).toEqual(['10.2.0.1:8000', '10.2.0.2:8000']);
  });

  it('SRV mode falls back to A/AAAA with the given port when the name has no SRV records', async () => {
    const r = registry({ port: 8443, nameFor: (service) => `${service}.sy.test` });
    expect(ids(await r.resolve('api'))).toEqual(['10.2.0.1:8443', '10.2.0.2:8443']);
  });

  it('NXDOMAIN → ServiceNotFoundError; refused, unreachable or silent → RegistryUnavailableError', async () => {
    await expect(registry().resolve('nobody')).rejects.toBeInstanceOf(ServiceNotFoundError);
    // Tried: a name outside the server's zone (it refuses: no upstream), then a dead server port.
    const outside = registry({ nameFor: () => 'users.example.org' });
    await expect(outside.resolve('users')).rejects.toBeInstanceOf(RegistryUnavailableError);
    const dead = registry({ servers: ['127.0.0.1:9'] });
    await expect(dead.resolve('users')).rejects.toBeInstanceOf(RegistryUnavailableError);
    // Tried: a server that takes the query and never answers (a UDP socket that reads nothing).
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    try {
      const mute = registry({ servers: [`127.0.0.1:${silent.address().port}`], timeoutMs: 200, tries: 1 });
      const error = await mute.resolve('users').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RegistryUnavailableError);
      expect((error as Error).message).toMatch(/ETIMEOUT/);
    } finally {
      silent.close();
    }
    await expect(registry().resolve('bad name')).rejects.toBeInstanceOf(ValidationError);
    // Tried: a nameFor that returns nothing.
    await expect(registry({ nameFor: () => '' }).resolve('users')).rejects.toMatchObject({
      field: 'nameFor',
    });
  });

  it('an aborted resolve rejects with the abort reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(registry().resolve('users', { signal: controller.signal })).rejects.toThrow(
      'caller gave up',
    );
  });

  it('watch re-resolves after the record TTL (5 s here), notifies only on change, and stops on close', async () => {
    const clock = new ManualClock();
    const r = registry({ mode: 'a', port: 80, nameFor: (s) => `${s}.sy.test`, clock, minTtlMs: 1_000 });
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch('c', (list) => seen.push(list));
    await waitFor('first list', () => seen.length === 1);
    await waitFor('refresh scheduled', () => clock.pendingTimers === 1);
    expect(ids(seen[0]!)).toEqual(['10.1.0.3:80']);

    await dns.setHosts({ ...hostsNow(), 'c.sy.test': ['10.1.0.3', '10.1.0.4'] });
    clock.advance(4_000); // before the TTL: no query yet
    await settle();
    expect(seen.length).toBe(1);
    clock.advance(1_000);
    await waitFor('added address seen', () => seen.length === 2);
    expect(ids(seen[1]!)).toEqual(['10.1.0.3:80', '10.1.0.4:80']);

    await waitFor('refresh scheduled', () => clock.pendingTimers === 1);
    clock.advance(5_000); // same answer: no notification
    await waitFor('refresh scheduled', () => clock.pendingTimers === 1);
    await settle();
    expect(seen.length).toBe(2);

    await dns.setHosts({ ...hostsNow(), 'c.sy.test': ['10.1.0.4'] });
    clock.advance(5_000);
    await waitFor('removed address seen', () => seen.length === 3);
    expect(ids(seen[2]!)).toEqual(['10.1.0.4:80']);
    await dns.setHosts(hostsNow());
    await r.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('watch clamps the refresh to maxTtlMs and follows SRV weight changes and removals', async () => {
    const clock = new ManualClock();
    const r = registry({ clock, maxTtlMs: 2_000, minTtlMs: 500 });
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch('pay', (list) => seen.push(list));
    await waitFor('first list', () => seen.length === 1);
    expect(seen[0]?.[0]?.weight).toBe(3);
    await dns.setSrv([
      { name: srvName('pay'), target: 'c.sy.test', port: 7001, priority: 2, weight: 9 },
      { name: srvName('pay'), target: 'a.sy.test', port: 7001, priority: 2, weight: 1 },
    ]);
    await waitFor('refresh scheduled', () => clock.pendingTimers === 1);
    clock.advance(2_000); // TTL is 5 s, clamped to 2 s
    await waitFor('weight change seen', () => seen.length === 2);
    expect(seen[1]?.find((i) => i.host === '10.1.0.3')?.weight).toBe(9);
    await dns.setSrv([{ name: srvName('pay'), target: 'a.sy.test', port: 7001, priority: 2, weight: 1 }]);
    await waitFor('refresh scheduled', () => clock.pendingTimers === 1);
    clock.advance(2_000);
    await waitFor('removal seen', () => seen.length === 3);
    expect(ids(seen[2]!)).toEqual(['10.1.0.1:7001']);
    await r.close();
    await dns.setSrv(initialSrv);
  });

  it('watch reports each dropped record once, not on every refresh', async () => {
    const clock = new ManualClock();
    const r = registry({ clock });
    const dropped: string[] = [];
    r.on('invalidInstance', (event) => dropped.push(event.record));
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch('users', (list) => seen.push(list));
    await waitFor('first list', () => seen.length === 1);
    expect(dropped.sort()).toEqual(['ghost.sy.test:8082 (priority 10)', 'z.sy.test:0 (priority 10)']);
    for (let i = 0; i < 3; i++) {
      await waitFor('refresh scheduled', () => clock.pendingTimers === 1);
      clock.advance(5_000);
    }
    await waitFor('refresh scheduled', () => clock.pendingTimers === 1);
    expect(dropped).toHaveLength(2);
    expect(seen).toHaveLength(1);
    await r.close();
  });

  it('a DNS server outage keeps the last list (registryStale), then registryRecovered after a restart', async () => {
    const clock = new ManualClock();
    const r = registry({ mode: 'a', port: 80, nameFor: (s) => `${s}.sy.test`, clock, minTtlMs: 1_000 });
    const states: string[] = [];
    const staleErrors: unknown[] = [];
    const staleFor: number[] = [];
    r.on('registryStale', ({ service, error }) => {
      states.push(`stale:${service}`);
      staleErrors.push(error);
    });
    r.on('registryRecovered', ({ service, staleForMs }) => {
      states.push(`recovered:${service}`);
      staleFor.push(staleForMs);
    });
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch('api', (list) => seen.push(list));
    await waitFor('first list', () => seen.length === 1);
    await waitFor('refresh scheduled', () => clock.pendingTimers === 1);
    await dns.stop();
    clock.advance(5_000);
    await waitFor('registryStale', () => states.length === 1);
    await waitFor('retry scheduled', () => clock.pendingTimers === 1);
    await dns.start();
    clock.advance(1_000); // after a failure the retry comes after minTtlMs
    await waitFor('registryRecovered', () => states.length === 2);
    expect(states).toEqual(['stale:api', 'recovered:api']);
    expect(staleErrors[0]).toBeInstanceOf(SwitchyardError);
    expect(staleFor).toEqual([1_000]); // the ManualClock moved 1 s between failure and success
    expect(seen.length).toBe(1); // the outage never replaced the list
    await r.close();
  });

  it('refuses answers with more than maxRecords records; a watch keeps its last list, registryStale, then recovers', async () => {
    // Tried: 5 SRV records against a cap of 4, then 2 addresses against a cap of 1.
    await expect(registry({ maxRecords: 4 }).resolve('users')).rejects.toThrow(
      /5 SRV records of _users\._tcp\.sy\.test, more than maxRecords \(4\)/,
    );
    const aMode = { mode: 'a', port: 80, nameFor: (s: string) => `${s}.sy.test` } as const;
    await expect(registry({ ...aMode, maxRecords: 1 }).resolve('api')).rejects.toBeInstanceOf(
      RegistryProtocolError,
    );

    const clock = new ManualClock();
    const r = registry({ ...aMode, clock, minTtlMs: 1_000, maxRecords: 2 });
    const states: string[] = [];
    r.on('registryStale', ({ error }) => states.push(`stale:${(error as Error).message}`));
    r.on('registryRecovered', () => states.push('recovered'));
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch('c', (list) => seen.push(list));
    await waitFor('first list', () => seen.length === 1);
    await dns.setHosts({ ...hostsNow(), 'c.sy.test': ['10.1.0.3', '10.1.0.4', '10.1.0.5'] });
    await waitFor('refresh scheduled', () => clock.pendingTimers === 1);
    clock.advance(5_000);
    await waitFor('registryStale', () => states.length === 1);
    expect(states[0]).toMatch(/3 addresses of c\.sy\.test, more than maxRecords \(2\)/);
    expect(seen).toHaveLength(1); // the last good list stays
    await dns.setHosts({ ...hostsNow(), 'c.sy.test': ['10.1.0.3', '10.1.0.4'] });
    await waitFor('retry scheduled', () => clock.pendingTimers === 1);
    clock.advance(1_000);
    await waitFor('recovered', () => states.includes('recovered'));
    await waitFor('new list', () => seen.length === 2);
    expect(ids(seen[1]!)).toEqual(['10.1.0.3:80', '10.1.0.4:80']);
    await r.close();
    await dns.setHosts(hostsNow());
  });

  it('reports each dropped record once across resolve, repeated resolves and watch', async () => {
    const clock = new ManualClock();
    const r = registry({ clock });
    const dropped: string[] = [];
    r.on('invalidInstance', (event) => dropped.push(event.record));
    await r.resolve('users');
    await r.resolve('users');
    const seen: (readonly ServiceInstance[])[] = [];
    r.watch('users', (list) => seen.push(list));
    await waitFor('first list', () => seen.length === 1);
    await r.resolve('users');
    expect(dropped.sort()).toEqual(['ghost.sy.test:8082 (priority 10)', 'z.sy.test:0 (priority 10)']);
    await r.close();
  });
});
