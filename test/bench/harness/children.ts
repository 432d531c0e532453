import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { processTree } from './cpu.ts';

/** Every child started through `spawnTracked` and not yet seen to exit. */
const live = new Set<ChildProcess>();
/** Scratch directories to remove when this process exits. */
const scratch = new Set<string>();

/** Removes `dir` when this process exits, also on Ctrl-C, unless `forget` is called first. */
export function removeOnExit(dir: string): { forget(): void } {
  hookExit();
  scratch.add(dir);
  return { forget: () => scratch.delete(dir) };
}

function cleanUp(): void {
  for (const child of live) killGroup(child, 'SIGKILL');
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // Each child leads its own process group: this also reaches nginx's workers.
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      cleanUp();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** The cores the bench runs on and those its children start on; `alternateCores` swaps them. */
const layout = { bench: process.env.BENCH_CPUS, children: process.env.BENCH_CHILD_CPUS, swapped: false };

/**
 * Under `pnpm bench` on a machine with `taskset` and ≥ 2 cores, the bench process runs on core 0
 * and everything it starts (backends, proxies) on the other cores (`BENCH_CHILD_CPUS`). Left to
 * the scheduler, client and server hop between two cores and CPU per request swings by ±30 %
 * from round to round, depending on whether they happened to share one; pinned, rounds agree
 * within a few per cent.
 */
export function pinned(command: string, args: readonly string[]): { command: string; args: string[] } {
  const cpus = layout.swapped ? layout.bench : layout.children;
  return cpus ? { command: 'taskset', args: ['-c', cpus, command, ...args] } : { command, args: [...args] };
}

/**
 * Before each round of a scene that sets a client alone against a client + proxy: in odd rounds
 * the bench runs on the children's core and every tracked child (its worker processes and
 * threads too) on the bench's; even rounds put them back. Two cores of a VM do not always run at
 * the same speed (the same loop was seen to take 1.5× as long on one as on the other for a
 * while), and a slow phase of the bench's core weighs on a client alone more than on a client +
 * proxy, which splits its work across both. Alternating, each variant meets each layout as
 * often. Only for one core against one (two cores, pinned); returns whether it applies.
 */
export function alternateCores(round: number): boolean {
  const { bench, children } = layout;
  if (!bench || !children || !/^\d+$/.test(bench) || !/^\d+$/.test(children)) return false;
  const swapped = Math.abs(round) % 2 === 1;
  if (swapped === layout.swapped) return true;
  layout.swapped = swapped;
  setAffinity(process.pid, swapped ? children : bench);
  for (const child of live) {
    if (child.pid === undefined) continue;
    for (const pid of processTree(child.pid)) setAffinity(pid, swapped ? bench : children);
  }
  return true;
}

/** Moves every thread of process `pid` to `cpus` (a process that just exited is skipped). */
function setAffinity(pid: number, cpus: string): void {
  spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * Spawns a process in its own process group (on the children's cores, see `pinned`) and kills
 * that group when this process exits, whether normally, on an uncaught error or on Ctrl-C.
 */
export function spawnTracked(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  hookExit();
  const run = pinned(command, args);
  const child = spawn(run.command, run.args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    ...options,
    detached: true,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Stops a tracked child's whole process group and waits for the child to exit. */
export async function stopTracked(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    killGroup(child, 'SIGKILL');
    return;
  }
  const exited = once(child, 'exit');
  killGroup(child, signal);
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
  killGroup(child, 'SIGKILL');
}

/** Resolves with the first stdout line of `child` that matches `pattern`. */
export async function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<RegExpExecArray> {
  const stdout = child.stdout;
  if (!stdout) throw new Error('child has no piped stdout');
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${pattern} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        stdout.off('data', onData);
        stdout.resume();
        resolve(match);
      }
    };
    stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code} before printing ${pattern}`));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects if `child` exits first. */
export async function waitForPort(port: number, child?: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `${child.spawnfile} exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`,
      );
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A port that was free a moment ago on 127.0.0.1, for a process that must be told its port. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * The command line that runs a sibling script of the calling module: the bundled `.js` with
 * plain node when the caller is a bundle, the `.ts` under tsx when it runs from source.
 */
export function siblingScript(callerUrl: string, baseName: string): { command: string; args: string[] } {
  const fromSource = callerUrl.endsWith('.ts');
  const path = new URL(`./${baseName}.${fromSource ? 'ts' : 'js'}`, callerUrl).pathname;
  return { command: process.execPath, args: fromSource ? ['--import', 'tsx', path] : [path] };
}
