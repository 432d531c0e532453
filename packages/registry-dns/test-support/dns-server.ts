import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * Test helper (not part of the package's public entry): a real dnsmasq on 127.0.0.1 with a
 * non-privileged port, answering only from a hosts directory (changes are picked up live) and
 * `--srv-host` records (changes need a restart, which `setSrv` does).
 */

// Debian installs dnsmasq in /usr/sbin, which is not on every user's PATH.
const binary = ['dnsmasq', '/usr/sbin/dnsmasq'].find(
  (candidate) => spawnSync(candidate, ['--version'], { encoding: 'utf8' }).status === 0,
);
/** Whether a dnsmasq binary is available. */
export const hasDnsmasq = binary !== undefined;

export { requireBinary } from '../../../test/support/require-binary.ts';

/** One SRV record: `--srv-host=name,target,port,priority,weight`. */
export interface SrvRecord {
  readonly name: string;
  readonly target: string;
  readonly port: number;
  readonly priority?: number;
  readonly weight?: number;
}

export interface DnsServerOptions {
  /** The zone answered locally (NXDOMAIN for unknown names in it). Default `sy.test`. */
  readonly domain?: string;
  /** TTL (seconds) on every local answer. Default 1. */
  readonly ttlSeconds?: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A dnsmasq process with editable hosts and SRV records. */
export class DnsServer {
  #process: ChildProcess | undefined;
  #srv: readonly SrvRecord[] = [];
  #hosts: Readonly<Record<string, readonly string[]>> = {};
  #generation = 0;
  #log = '';

  constructor(
    readonly port: number,
    readonly dir: string,
    readonly domain: string,
    readonly ttlSeconds: number,
  ) {}

  /** `127.0.0.1:<port>`, for `DnsRegistry({ servers: [server.address] })`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replaces the A/AAAA records (name → addresses); waits until dnsmasq serves the new set. */
  async setHosts(hosts: Readonly<Record<string, readonly string[]>>): Promise<void> {
    this.#hosts = hosts;
    const marker = `gen-${++this.#generation}.${this.domain}`;
    const lines = [`127.0.0.1 ${marker}`];
    for (const [name, addresses] of Object.entries(hosts))
      for (const a of addresses) lines.push(`${a} ${name}`);
    const file = join(this.dir, 'hosts', 'records');
    await writeFile(`${file}.tmp`, `${lines.join('\n')}\n`);
    await rename(`${file}.tmp`, file); // one inotify event with the complete file
    if (this.#process) await this.#waitFor(marker);
  }

  /** Replaces the SRV records: dnsmasq reads them only at start, so this restarts it. */
  async setSrv(records: readonly SrvRecord[]): Promise<void> {
    this.#srv = records;
    if (this.#process) {
      await this.stop();
      await this.start();
    }
  }

  async start(): Promise<void> {
    if (this.#process) return;
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
    const args = [
      '--keep-in-foreground',
      `--port=${this.port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--conf-file=/dev/null',
      '--pid-file=',
      `--user=${userInfo().username}`,
      ...(group ? [`--group=${group}`] : []),
      `--hostsdir=${join(this.dir, 'hosts')}`,
      `--local=/${this.domain}/`,
      `--local-ttl=${this.ttlSeconds}`,
      '--log-facility=-',
      ...this.#srv.map(
        (r) => `--srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`,
      ),
    ];
    const child = spawn(binary ?? 'dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-4000);
    });
    child.once('exit', () => {
      if (this.#process === child) this.#process = undefined;
    });
    this.#process = child;
    await this.setHosts(this.#hosts);
  }

  async stop(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    this.#process = undefined;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  async #waitFor(name: string): Promise<void> {
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([this.address]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await resolver.resolve4(name)).length > 0) return;
      } catch {
        // not up yet, or the hosts file not read yet
      }
      if (Date.now() > deadline || !this.#process)
        throw new Error(`dnsmasq did not serve ${name}:\n${this.#log}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * Starts dnsmasq on a free port with the given records.
 *
 * @example
 * const dns = await startDnsServer({ hosts: { 'a.sy.test': ['10.0.0.1'] } });
 * const registry = new DnsRegistry({ mode: 'a', port: 80, servers: [dns.address] });
 */
export async function startDnsServer(
  records: { hosts?: Record<string, readonly string[]>; srv?: readonly SrvRecord[] } = {},
  options: DnsServerOptions = {},
): Promise<DnsServer> {
  if (!binary || !existsSync(tmpdir())) throw new Error('dnsmasq is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-dns-'));
  await mkdir(join(dir, 'hosts'));
  const server = new DnsServer(await freePort(), dir, options.domain ?? 'sy.test', options.ttlSeconds ?? 1);
  await server.setHosts(records.hosts ?? {});
  await server.setSrv(records.srv ?? []);
  try {
    await server.start();
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}
