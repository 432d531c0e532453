/**
 * CPU per request of `client.request` against a raw undici Pool, in the same run: N GETs with
 * 64 in flight against one keep-alive `node:http` server in a child process, so the process CPU
 * time (`process.cpuUsage()`, user + system) is the client's alone. Rounds are interleaved and
 * each figure is the median of the rounds, with its ratio to the Pool of the same round. On a
 * busy machine wall-clock throughput is noise; CPU time per request is what resolves 10 %.
 *
 *   npx tsx test/bench/call-path/request-cpu.ts [requests=20000] [rounds=3]
 *
 * tsx wraps every closure the client creates per call (keepNames), which plain-JS peers do not
 * pay: for figures on built JavaScript, bundle it first, e.g.
 *   esbuild test/bench/call-path/request-cpu.ts --bundle --platform=node --format=esm \
 *     --external:undici --outfile=test/bench/call-path/request-cpu.bundle.mjs
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once, setMaxListeners } from 'node:events';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { StaticRegistry } from '@switchyard/registry';
import { Pool } from 'undici';

const INFLIGHT = 64;

interface Variant {
  readonly name: string;
  readonly send: () => Promise<unknown>;
  readonly close: () => Promise<void>;
}

async function startServer(): Promise<{ port: number; child: ChildProcess }> {
  const script = fileURLToPath(new URL('./bench-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, 'cpu'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(/ready (\d+)/.exec(line.toString())?.[1]), child };
}

/** Sends `total` requests, `INFLIGHT` at a time; returns the client's CPU µs per request. */
async function cpuPerRequest(total: number, send: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      await send();
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / total;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

export async function main(total = 20_000, rounds = 3): Promise<void> {
  const server = await startServer();
  const origin = `http://127.0.0.1:${server.port}`;
  const registry = new StaticRegistry({
    bench: [{ id: 'cpu-1', service: 'bench', host: '127.0.0.1', port: server.port }],
  });
  const pool = new Pool(origin);
  const client = new ServiceDiscoveryClient({ registry });
  const caller = new AbortController();
  setMaxListeners(0, caller.signal); // one long-lived caller signal shared by every request in flight
  const variants: Variant[] = [
    {
      name: 'undici Pool',
      send: async () => (await pool.request({ method: 'GET', path: '/' })).body.dump(),
      close: () => pool.close(),
    },
    {
      name: 'client.request (default 15 s attempt timeout)',
      send: async () => (await client.request('bench', { path: '/' })).body.dump(),
      close: async () => {},
    },
    {
      name: 'client.request + caller signal',
      send: async () => (await client.request('bench', { path: '/', signal: caller.signal })).body.dump(),
      close: () => client.close(),
    },
  ];
  const results = variants.map(() => [] as number[]);
  const ratios = variants.map(() => [] as number[]);
  try {
    for (const variant of variants) await cpuPerRequest(Math.min(2_000, total), variant.send); // warm-up
    for (let round = 0; round < rounds; round++) {
      for (const [i, variant] of variants.entries())
        results[i]!.push(await cpuPerRequest(total, variant.send));
      for (const [i] of variants.entries()) ratios[i]!.push(results[i]![round]! / results[0]![round]!);
    }
  } finally {
    for (const variant of variants) await variant.close();
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
  }
  const load = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  console.log(
    `CPU per request, ${total} GETs × ${rounds} rounds, ${INFLIGHT} in flight, one keep-alive server in a child process`,
  );
  console.log(`node ${process.version}; load average ${load} (other processes share the CPUs)`);
  console.log('variant | CPU µs/request (median) | × Pool (median of same-round ratios) | rounds');
  for (const [i, variant] of variants.entries()) {
    const rounds = results[i]!.map((n) => n.toFixed(1)).join(' / ');
    console.log(
      `${variant.name} | ${median(results[i]!).toFixed(1)} | ${median(ratios[i]!).toFixed(2)}× | ${rounds}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [total, rounds] = process.argv.slice(2).map(Number);
  await main(total || undefined, rounds || undefined);
}
