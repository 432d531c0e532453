/**
 * Registry benchmark: how fast a change reaches a watcher, what resolve costs with and without
 * the cache, and what a large registry holds in memory.
 *
 *   npx -y pnpm@10.34.8 bench registry-bench
 *
 * - Watch propagation: time from a write (register / put / hosts-file edit) to the watcher's
 *   listener seeing it, for etcd (real server, lease-bound registration), the embedded HTTP
 *   registry (long poll) and DNS (dnsmasq, refresh every record TTL = 1 s: latency is bounded by
 *   the TTL, not by the server).
 * - Resolve throughput, sequential, with CachingRegistry on and off (HTTP registry and etcd).
 * - Memory of 1,000 services × 10 instances held in an InMemoryRegistry.
 *
 * Wall-clock figures on a shared 2-core machine: compare orders of magnitude, not digits.
 * Real-server rows are skipped (and say so) when etcd or dnsmasq is not installed.
 */

import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Registry, ServiceInstance } from '@switchyard/core';
import { CachingRegistry, createRegistryServer, HttpRegistry, InMemoryRegistry } from '@switchyard/registry';
import { DnsRegistry } from '@switchyard/registry-dns';
import { EtcdRegistry } from '@switchyard/registry-etcd';
import { hasDnsmasq, startDnsServer } from '../../../packages/registry-dns/test-support/dns-server.ts';
import { hasEtcd, startEtcd } from '../../../packages/registry-etcd/test-support/etcd-server.ts';
import { sized } from '../harness/smoke.ts';

/** Registrations timed per registry, and resolves per throughput figure. */
const SAMPLES = sized(300, 20);
const UPDATES = sized(2_000, 200);

/** Rows of the three tables printed at the end. */
const propagationRows: string[][] = [];
const throughputRows: string[][] = [];
const memoryRows: string[][] = [];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function latencyRow(what: string, samples: number[], path: string): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  propagationRows.push([
    what,
    String(samples.length),
    ms(percentile(sorted, 0.5)),
    ms(percentile(sorted, 0.99)),
    ms(sorted.at(-1) ?? Number.NaN),
    path,
  ]);
}

function skipRow(what: string, note: string): void {
  propagationRows.push([what, '0', '-', '-', '-', note]);
}

const instance = (service: string, id: string, weight: number): ServiceInstance => ({
  id,
  service,
  host: '127.0.0.1',
  port: 8080,
  weight,
});

/**
 * Runs `changes` writes one after another; each waits until the watcher's listener saw the
 * written weight, and its latency is write start → listener call.
 */
async function propagation(
  watcher: Registry,
  service: string,
  changes: number,
  write: (weight: number) => Promise<void>,
): Promise<number[]> {
  let waiting: { weight: number; resolve: (at: number) => void } | undefined;
  let ready!: () => void;
  const first = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const stop = watcher.watch?.(service, (list) => {
    ready();
    const target = waiting;
    if (target && list.some((item) => item.weight === target.weight)) {
      waiting = undefined;
      target.resolve(performance.now());
    }
  });
  await write(1);
  await first;
  const samples: number[] = [];
  for (let weight = 2; weight < changes + 2; weight++) {
    const seen = new Promise<number>((resolve) => {
      waiting = { weight, resolve };
    });
    const start = performance.now();
    await write(weight);
    samples.push((await seen) - start);
  }
  stop?.();
  return samples;
}

async function etcdRows(): Promise<void> {
  if (!hasEtcd) {
    skipRow('etcd', 'skipped: etcd not installed (.ci/install-servers.sh)');
    return;
  }
  const etcd = await startEtcd(1);
  const writer = new EtcdRegistry({ hosts: etcd.hosts });
  const watcher = new EtcdRegistry({ hosts: etcd.hosts });
  try {
    const samples = await propagation(watcher, 'bench', SAMPLES, (weight) =>
      writer.register(instance('bench', 'b1', weight), { ttlMs: 10_000 }),
    );
    latencyRow('etcd', samples, 'register (put on lease) → watch event → listener');
    await throughput('etcd', watcher, 'bench', UPDATES);
  } finally {
    await Promise.all([writer.close(), watcher.close()]);
    await etcd.close();
  }
}

async function httpRows(): Promise<void> {
  const server = await createRegistryServer({ port: 0 });
  const writer = new HttpRegistry({ url: server.url });
  const watcher = new HttpRegistry({ url: server.url });
  try {
    const samples = await propagation(watcher, 'bench', SAMPLES, (weight) =>
      writer.register(instance('bench', 'b1', weight)),
    );
    latencyRow('HTTP registry', samples, 'POST /register → long poll answers → listener');
    await throughput('HTTP registry', watcher, 'bench', UPDATES);
  } finally {
    await Promise.all([writer.close(), watcher.close()]);
    await server.close();
  }
}

async function dnsRows(): Promise<void> {
  if (!hasDnsmasq) {
    skipRow('DNS', 'skipped: dnsmasq not installed (.ci/install-servers.sh)');
    return;
  }
  const dns = await startDnsServer({ hosts: { 'bench.sy.test': ['10.0.0.1'] } }, { ttlSeconds: 1 });
  const watcher = new DnsRegistry({
    mode: 'a',
    port: 80,
    servers: [dns.address],
    nameFor: (service) => `${service}.sy.test`,
    minTtlMs: 1_000,
    maxTtlMs: 1_000,
  });
  try {
    // A records have no weight: count addresses instead (weight n ⇔ n addresses).
    let waiting: { count: number; resolve: (at: number) => void } | undefined;
    const stop = watcher.watch('bench', (list) => {
      const target = waiting;
      if (target && list.length === target.count) {
        waiting = undefined;
        target.resolve(performance.now());
      }
    });
    const samples: number[] = [];
    for (let count = 2, last = sized(9, 3); count <= last; count++) {
      const seen = new Promise<number>((resolve) => {
        waiting = { count, resolve };
      });
      const start = performance.now();
      const addresses = Array.from({ length: count }, (_, i) => `10.0.0.${i + 1}`);
      await dns.setHosts({ 'bench.sy.test': addresses });
      samples.push((await seen) - start);
    }
    stop();
    latencyRow('DNS (A records, TTL 1 s)', samples, 'hosts edit → next TTL refresh: bounded by the TTL');
  } finally {
    await watcher.close();
    await dns.close();
  }
}

/** Sequential resolves per second, straight and through a CachingRegistry (TTL 1 s). */
async function throughput(label: string, inner: Registry, service: string, calls: number): Promise<void> {
  const rate = async (registry: Registry, n: number) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) await registry.resolve(service);
    return (n / (performance.now() - start)) * 1000;
  };
  const direct = await rate(inner, calls);
  const cached = new CachingRegistry(inner, { ttlMs: 1_000 });
  await cached.resolve(service);
  const hit = await rate(cached, calls * 50);
  const perSecond = (v: number) => `${Math.round(v).toLocaleString('en')} /s`;
  throughputRows.push([label, String(calls), perSecond(direct), perSecond(hit)]);
}

/** A full GC without `--expose-gc` on the command line (switched on at run time). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function memoryRow(): void {
  const gc = (globalThis as { gc?: () => void }).gc ?? exposeGc();
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const registry = new InMemoryRegistry();
  for (let s = 0; s < 1_000; s++) {
    for (let i = 0; i < 10; i++) {
      registry.registerSync({
        id: `svc-${s}-${i}`,
        service: `svc-${s}`,
        host: `10.${s >> 8}.${s & 255}.${i + 1}`,
        port: 8080,
        weight: 1 + (i % 3),
        metadata: { version: '1.2.3', zone: `z${i % 3}` },
      });
    }
  }
  gc();
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  memoryRows.push([
    'InMemoryRegistry, 1,000 services × 10 instances (2 metadata keys each)',
    `${(bytes / 1024 / 1024).toFixed(1)} MB`,
    `${Math.round(bytes / 10_000)} B`,
  ]);
  if (registry.services().length !== 1_000) throw new Error('registry lost services');
}

function table(title: string, header: readonly string[], lines: readonly string[][]): void {
  console.log(`\n${title}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const line of lines) console.log(`| ${line.join(' | ')} |`);
}

function print(): void {
  table(
    'Watch propagation (write → watcher listener called)',
    ['registry', 'changes', 'p50', 'p99', 'max', 'path'],
    propagationRows,
  );
  table(
    'Resolve throughput, sequential (CachingRegistry ttl 1 s)',
    ['registry', 'calls', 'uncached', 'cached'],
    throughputRows,
  );
  table('Memory (heap growth after full GC)', ['held', 'heap', 'per instance'], memoryRows);
}

export async function main(): Promise<void> {
  memoryRow();
  await httpRows();
  await etcdRows();
  await dnsRows();
  print();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
