import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test helper (not part of the package's public entry): real etcd members on 127.0.0.1 with
 * free ports and temporary data directories, so the adapter is tested against the real wire
 * protocol. Each member pre-allocates 64 MB of WAL, so suites keep the member count low.
 */

const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
/** Whether an `etcd` binary is on the PATH. */
export const hasEtcd = probe.status === 0;
// `--unsafe-no-fsync` appeared in etcd 3.5; older packaged builds reject unknown flags.
const supportsNoFsync =
  hasEtcd && spawnSync('etcd', ['--help'], { encoding: 'utf8' }).stdout.includes('unsafe-no-fsync');

export { requireBinary } from '../../../test/support/require-binary.ts';

/** A free TCP port on 127.0.0.1 (released before returning; etcd binds it right after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Server certificate for `https://` client URLs (peers stay on plain http on loopback). */
export interface EtcdTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA that signed the certificate, for the helper's own health checks. */
  readonly ca: Buffer;
}

interface MemberSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly tls?: EtcdTls | undefined;
}

/** A small JSON request over node:http(s), so health checks can trust a test CA. */
function requestJson(url: string, method: 'GET' | 'POST', ca?: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { method, timeout: 1000, ...(ca ? { ca } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

/** One etcd member process that can be stopped and started again on the same ports and data. */
export class EtcdMember {
  readonly name: string;
  readonly url: string;
  #process: ChildProcess | undefined;
  #log = '';
  constructor(
    readonly spec: MemberSpec,
    readonly initialCluster: string,
  ) {
    this.name = spec.name;
    this.url = `${spec.tls ? 'https' : 'http'}://127.0.0.1:${spec.clientPort}`;
  }

  get running(): boolean {
    return this.#process !== undefined;
  }

  start(): void {
    if (this.#process) return;
    const { name, peerPort, dataDir } = this.spec;
    const peer = `http://127.0.0.1:${peerPort}`;
    const args = [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${this.url}`,
      `--advertise-client-urls=${this.url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${this.initialCluster}`,
      '--initial-cluster-state=new',
      '--initial-cluster-token=switchyard-test',
      `--quota-backend-bytes=${64 * 1024 * 1024}`,
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--log-level=error',
      '--logger=zap',
      ...(supportsNoFsync ? ['--unsafe-no-fsync'] : []),
      ...(this.spec.tls
        ? [`--cert-file=${this.spec.tls.certFile}`, `--key-file=${this.spec.tls.keyFile}`]
        : []),
    ];
    const child = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-4000);
    });
    child.once('exit', () => {
      if (this.#process === child) this.#process = undefined;
    });
    this.#process = child;
  }

  /**
   * Freezes the member (SIGSTOP): connections stay open but nothing answers, like a hung host.
   * Resolves once every thread of the process is stopped: a signal reaches a busy multi-threaded
   * process a little later, and until then it may still answer a request sent after `kill`.
   */
  async pause(): Promise<void> {
    const pid = this.#process?.pid;
    if (pid === undefined) return;
    this.#process?.kill('SIGSTOP');
    const deadline = Date.now() + 5_000;
    while (!allThreadsStopped(pid)) {
      if (Date.now() > deadline) throw new Error(`etcd (pid ${pid}) did not stop within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  /** Kills the member (SIGKILL: a crash, not a graceful leave) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    this.#process = undefined;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async healthy(): Promise<boolean> {
    try {
      const body = (await requestJson(`${this.url}/health`, 'GET', this.spec.tls?.ca)) as { health?: string };
      return body.health === 'true';
    } catch {
      return false;
    }
  }

  /** Whether this member is the Raft leader (from its own status endpoint). */
  async isLeader(): Promise<boolean> {
    try {
      const body = (await requestJson(`${this.url}/v3/maintenance/status`, 'POST', this.spec.tls?.ca)) as {
        header?: { member_id?: string };
        leader?: string;
      };
      return body.leader !== undefined && body.leader === body.header?.member_id;
    } catch {
      return false;
    }
  }

  get log(): string {
    return this.#log;
  }
}

/** A running etcd cluster of one or more members. */
export class EtcdCluster {
  constructor(
    readonly members: readonly EtcdMember[],
    readonly root: string,
  ) {}

  /** Client URLs of every member, for `EtcdRegistry({ hosts })`. */
  get hosts(): string[] {
    return this.members.map((member) => member.url);
  }

  /** Waits until every running member reports healthy (a leader is elected). */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.members.filter((member) => member.running);
      const states = await Promise.all(running.map((member) => member.healthy()));
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) {
        throw new Error(`etcd not healthy after ${timeoutMs} ms:\n${running.map((m) => m.log).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async leader(): Promise<EtcdMember> {
    for (let tries = 0; tries < 100; tries++) {
      for (const member of this.members) {
        if (member.running && (await member.isLeader())) return member;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('no etcd leader found');
  }

  /** Kills every member and removes the data directories. */
  async close(): Promise<void> {
    await Promise.all(this.members.map((member) => member.stop()));
    await rm(this.root, { recursive: true, force: true });
  }
}

/**
 * Starts `size` etcd members on 127.0.0.1 (non-default ports, temp data dirs) and waits until
 * the cluster is healthy.
 *
 * @example
 * const etcd = await startEtcd();
 * const registry = new EtcdRegistry({ hosts: etcd.hosts });
 * // … finally: await registry.close(); await etcd.close();
 */
export async function startEtcd(size = 1, options: { tls?: EtcdTls } = {}): Promise<EtcdCluster> {
  const root = await mkdtemp(join(tmpdir(), 'switchyard-etcd-'));
  const specs: MemberSpec[] = [];
  for (let i = 0; i < size; i++) {
    specs.push({
      name: `m${i}`,
      clientPort: await freePort(),
      peerPort: await freePort(),
      dataDir: join(root, `m${i}`),
      tls: options.tls,
    });
  }
  const initialCluster = specs.map((spec) => `${spec.name}=http://127.0.0.1:${spec.peerPort}`).join(',');
  const cluster = new EtcdCluster(
    specs.map((spec) => new EtcdMember(spec, initialCluster)),
    root,
  );
  for (const member of cluster.members) member.start();
  try {
    await cluster.waitHealthy();
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

/** Whether every thread of `pid` is stopped ('T' in /proc/<pid>/task/<tid>/stat). */
function allThreadsStopped(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true; // no /proc (or the process is gone): nothing left to wait for
  }
  return tids.every((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The state follows the command name, which ends with the last ')'.
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state === 'T' || state === 't';
    } catch {
      return true; // the thread exited
    }
  });
}
