import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (user + system) this process has used, in µs. */
export function ownCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
const ticksPerSecond: number = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  readonly ppid: number;
  readonly cpuTicks: number;
}

function readStat(pid: number, file = `/proc/${pid}/stat`): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/** Every live process on the machine: its parent and its CPU ticks, from /proc. */
function processTable(): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) table.set(pid, stat);
  }
  return table;
}

/** Process `pid` and all its live descendants (nginx's workers, say), from /proc. */
export function processTree(pid: number): number[] {
  return treeOf(pid, processTable());
}

function treeOf(pid: number, table: Map<number, ProcStat>): number[] {
  const tree: number[] = [];
  for (const candidate of table.keys()) {
    for (let up: number | undefined = candidate; up !== undefined && up > 1; up = table.get(up)?.ppid) {
      if (up === pid) {
        tree.push(candidate);
        break;
      }
    }
  }
  return tree;
}

/**
 * CPU time (user + system, all threads) of process `pid` and all its live descendants, in µs,
 * from /proc: nginx serves from worker processes, HAProxy from threads of one process.
 * Resolution is one clock tick (10 ms at 100 Hz): measure over thousands of requests.
 */
export function processTreeCpuUs(pid: number): number {
  const table = processTable();
  let ticks = 0;
  for (const member of treeOf(pid, table)) ticks += table.get(member)!.cpuTicks;
  return (ticks / ticksPerSecond) * 1e6;
}

/** Name of the thread V8's CPU profiler samples from (`ProfilerEventsProcessor`). */
export const PROFILER_THREAD = 'v8:ProfEvntProc';

/**
 * CPU time (user + system) of each of this process's threads, in µs, from /proc/self/task:
 * `main` for the main thread, the others summed by thread name (V8's GC helpers and libuv's
 * pool are `node`, the CPU profiler's sampling thread PROFILER_THREAD). One clock tick of
 * resolution; empty where /proc is missing.
 */
export function ownThreadsCpuUs(): Map<string, number> {
  const byName = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${process.pid}/task`);
  } catch {
    return byName;
  }
  for (const task of tasks) {
    const tid = Number(task);
    const stat = readStat(tid, `/proc/${process.pid}/task/${task}/stat`);
    if (!stat) continue; // the thread has just exited
    let name = 'main';
    if (tid !== process.pid) {
      try {
        name = readFileSync(`/proc/${process.pid}/task/${task}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
    }
    byName.set(name, (byName.get(name) ?? 0) + (stat.cpuTicks / ticksPerSecond) * 1e6);
  }
  return byName;
}
