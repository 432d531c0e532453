import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOnExit, stopTracked } from '../harness/children.ts';
import { processTreeCpuUs } from '../harness/cpu.ts';

/** How the proxy spreads requests: what an operator would pick for each scene. */
export type ProxyBalance = 'roundRobin' | 'leastConnections';

export interface ProxyBackend {
  readonly id: string;
  readonly port: number;
}

/** A load-balancing proxy process on 127.0.0.1 in front of the bench backends. */
export interface LocalProxy {
  readonly name: string;
  readonly origin: string;
  /** CPU time the proxy's processes (and threads) have used so far, in µs. */
  cpuUs(): number;
  stop(): Promise<void>;
}

export interface ProxyKind {
  readonly name: string;
  readonly binary: string;
  start(backends: readonly ProxyBackend[], balance: ProxyBalance): Promise<LocalProxy>;
}

/** A proxy whose binary is missing is skipped with a line saying how to install it. */
export function available(kind: ProxyKind): boolean {
  if (existsSync(kind.binary)) return true;
  console.log(
    `skipping ${kind.name}: ${kind.binary} not found (install it with \`apt-get install haproxy nginx\`)`,
  );
  return false;
}

/** A temporary directory for a proxy's config and files, removed on exit at the latest. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `switchyard-bench-${prefix}-`));
  removeOnExit(dir);
  return dir;
}

export function localProxy(name: string, port: number, child: ChildProcess, dir: string): LocalProxy {
  const pid = child.pid!;
  return {
    name,
    origin: `http://127.0.0.1:${port}`,
    cpuUs: () => processTreeCpuUs(pid),
    async stop() {
      await stopTracked(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
