import { existsSync, readFileSync } from 'node:fs';
import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (where pnpm-workspace.yaml is), from a bundle or from source alike. */
const root = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

/** Runs `body` under V8's sampling CPU profiler (one sample every `intervalUs`); returns the profile. */
export async function profileWhile(intervalUs: number, body: () => Promise<void>): Promise<Profiler.Profile> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    let stopped: Profiler.StopReturnType;
    try {
      await body();
    } finally {
      // Stop even when body throws, so the profiler's sampling thread does not outlive the run.
      stopped = await session.post('Profiler.stop');
    }
    await session.post('Profiler.disable');
    return stopped.profile;
  } finally {
    session.disconnect();
  }
}

/** Where a profile frame's code comes from. */
export interface Origin {
  /** The bucket its self time counts in, e.g. `switchyard: client`, `undici`, `node internals`. */
  readonly bucket: string;
  /** For Switchyard's own code: `name path:line` in the TypeScript source. */
  readonly label?: string;
}

export const GC = 'GC (main-thread pauses)';
export const PROGRAM = '(program): V8 and native code outside any JS frame';
export const IDLE = '(idle): waiting for I/O';
export const NODE = 'node internals (node:*)';
export const BENCH = 'bench driver (the request loop)';
/** Frames without a script: native bindings (socket writes, clocks) and V8's own (promise jobs). */
export const NATIVE = 'native: ';
export const WASM = "undici's llhttp parser (wasm)";
export const SWITCHYARD = 'switchyard: ';

/**
 * Attributes profile frames to where their code lives. Frames of a bundle are mapped back
 * through its linked source map (`<bundle>.js.map`): `packages/<name>/…` is Switchyard's package
 * `<name>`, `test/…` the bench itself. Everything under node_modules counts as its package.
 */
export class FrameOrigins {
  readonly #maps = new Map<string, { map: SourceMap; dir: string } | undefined>();
  readonly #cache = new Map<string, Origin>();

  of(frame: Profiler.ProfileNode['callFrame']): Origin {
    const key = `${frame.url}\0${frame.functionName}\0${frame.lineNumber}\0${frame.columnNumber}`;
    let origin = this.#cache.get(key);
    if (!origin) {
      origin = this.#classify(frame);
      this.#cache.set(key, origin);
    }
    return origin;
  }

  #classify(frame: Profiler.ProfileNode['callFrame']): Origin {
    const { url, functionName } = frame;
    if (url === '') {
      if (functionName === '(garbage collector)') return { bucket: GC };
      if (functionName === '(program)') return { bucket: PROGRAM };
      if (functionName === '(idle)' || functionName === '(root)') return { bucket: IDLE };
      return { bucket: `${NATIVE}${functionName}` };
    }
    if (url.startsWith('node:')) return { bucket: NODE };
    // The only WebAssembly a client process loads here is undici's HTTP parser.
    if (url.startsWith('wasm:')) return { bucket: WASM };
    const modules = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(url);
    if (modules) return { bucket: modules[1]! };
    if (!url.startsWith('file:')) return { bucket: `other (${url})` };
    let path = relative(root, fileURLToPath(url));
    let line = frame.lineNumber + 1;
    const mapped = this.#sourceMap(url);
    if (mapped) {
      const entry = mapped.map.findEntry(frame.lineNumber, frame.columnNumber) as Partial<{
        originalSource: string;
        originalLine: number;
      }>;
      if (entry.originalSource === undefined) return { bucket: 'bundle, unmapped position' };
      const source = entry.originalSource.startsWith('file:')
        ? fileURLToPath(entry.originalSource)
        : resolve(mapped.dir, entry.originalSource);
      path = relative(root, source);
      line = (entry.originalLine ?? 0) + 1;
    } else if (path.startsWith('.bench-dist/')) {
      return { bucket: 'bundle without a source map' };
    }
    const packageName = /^packages\/([^/]+)\//.exec(path)?.[1];
    if (packageName) {
      return {
        bucket: `${SWITCHYARD}${packageName}`,
        label: `${functionName || '(anonymous)'} ${path.replace(/^packages\//, '')}:${line}`,
      };
    }
    if (path.startsWith('test/')) return { bucket: BENCH };
    return { bucket: `other (${path})` };
  }

  #sourceMap(url: string): { map: SourceMap; dir: string } | undefined {
    if (this.#maps.has(url)) return this.#maps.get(url);
    const file = `${fileURLToPath(url)}.map`;
    const mapped = existsSync(file)
      ? { map: new SourceMap(JSON.parse(readFileSync(file, 'utf8'))), dir: dirname(file) }
      : undefined;
    this.#maps.set(url, mapped);
    return mapped;
  }
}

/** Self time (µs) per bucket and per Switchyard function of one profile. */
export interface SelfTimes {
  readonly buckets: Map<string, number>;
  readonly functions: Map<string, number>;
  /**
   * Self time of Node internals and native code called directly by Switchyard's code (the first
   * frame below them that is neither is Switchyard's), by `callee ← Switchyard caller`. It is
   * part of the node-internals and native buckets, not added to Switchyard's.
   */
  readonly calledBySwitchyard: Map<string, number>;
  /** All sampled time, idle included, µs. */
  readonly sampledUs: number;
  readonly samples: number;
}

/**
 * Self time of every node: each sample stands for the time until the next one (the last for the
 * mean interval), counted for the node on top of the stack when it was taken.
 */
export function selfTimes(profile: Profiler.Profile, origins: FrameOrigins): SelfTimes {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, Profiler.ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const meanUs = samples.length > 0 ? (profile.endTime - profile.startTime) / samples.length : 0;
  const buckets = new Map<string, number>();
  const functions = new Map<string, number>();
  const calledBySwitchyard = new Map<string, number>();
  const callerOf = new Map<number, string | undefined>();
  const isNodeOrNative = (bucket: string) => bucket === NODE || bucket.startsWith(NATIVE);
  /** `callee ← Switchyard caller` when `node` runs Node's or native code on Switchyard's behalf. */
  const switchyardCaller = (node: Profiler.ProfileNode): string | undefined => {
    if (callerOf.has(node.id)) return callerOf.get(node.id);
    let key: string | undefined;
    for (let up = parentOf.get(node.id); up; up = parentOf.get(up.id)) {
      const origin = origins.of(up.callFrame);
      if (isNodeOrNative(origin.bucket)) continue;
      if (origin.label) {
        const { functionName, url } = node.callFrame;
        key = `${functionName || '(anonymous)'}${url ? ` ${url}` : ''} ← ${origin.label}`;
      }
      break;
    }
    callerOf.set(node.id, key);
    return key;
  };
  let sampledUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!);
    if (!node) continue;
    const us = i + 1 < deltas.length ? Math.max(0, deltas[i + 1]!) : meanUs;
    sampledUs += us;
    const origin = origins.of(node.callFrame);
    buckets.set(origin.bucket, (buckets.get(origin.bucket) ?? 0) + us);
    if (origin.label) functions.set(origin.label, (functions.get(origin.label) ?? 0) + us);
    else if (isNodeOrNative(origin.bucket)) {
      const key = switchyardCaller(node);
      if (key) calledBySwitchyard.set(key, (calledBySwitchyard.get(key) ?? 0) + us);
    }
  }
  return { buckets, functions, calledBySwitchyard, sampledUs, samples: samples.length };
}
