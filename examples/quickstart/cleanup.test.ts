import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// The demo's backends are real processes: they must not outlive the demo, whether it is asked
// to stop (SIGTERM, forwarded to them) or killed outright (SIGKILL: their IPC watchdog fires).

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const started: number[] = [];

/** True while `pid` is a live process (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** The backend processes whose parent is `parent`, read from /proc (Linux). */
function backendsOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      // The demo's other children (tsx's esbuild service) are not backends.
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === parent && command.includes('backend.ts')) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Starts the demo and resolves with its backends' pids once all three have registered. */
async function startDemo(): Promise<{ demo: ChildProcess; backendPids: number[] }> {
  const demo = spawn(process.execPath, ['--import', 'tsx', main], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(demo.pid!);
  let output = '';
  demo.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    demo.stdout!.on('data', (chunk: string) => {
      output += chunk;
      if (/^started /m.test(output)) resolve();
    });
    demo.once('exit', (code) => reject(new Error(`the demo exited (${code}) before starting its backends`)));
  });
  // Drain the rest of the demo's output so it never blocks on a full pipe.
  demo.stdout!.resume();
  const backendPids = backendsOf(demo.pid!);
  started.push(...backendPids);
  if (backendPids.length !== 3) console.error(`children of ${demo.pid}: ${backendPids}\n${output}`);
  return { demo, backendPids };
}

afterEach(() => {
  // Whatever a failed assertion left behind goes, so it cannot disturb the next test.
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('the quickstart demo', () => {
  it('stops its backend processes when it gets SIGTERM', { timeout: 120_000 }, async () => {
    const { demo, backendPids } = await startDemo();
    expect(backendPids, 'the demo runs three backend processes').toHaveLength(3);
    expect(backendPids.every(alive)).toBe(true);

    const exited = once(demo, 'exit');
    demo.kill('SIGTERM');
    const [code, signal] = await exited;
    expect(await waitUntil(() => !backendPids.some(alive), 30_000)).toBe(true);
    // It stopped its backends first, then ended as SIGTERM would have ended it.
    expect({ code, signal }).toEqual({ code: 143, signal: null });
  });

  it('leaves no backend running when it is killed with SIGKILL', { timeout: 120_000 }, async () => {
    const { demo, backendPids } = await startDemo();
    expect(backendPids, 'the demo runs three backend processes').toHaveLength(3);
    expect(backendPids.every(alive)).toBe(true);

    const exited = once(demo, 'exit');
    demo.kill('SIGKILL');
    await exited;
    // Nothing forwarded anything: each backend notices its parent is gone and stops itself.
    expect(await waitUntil(() => !backendPids.some(alive), 30_000)).toBe(true);
  });
});
