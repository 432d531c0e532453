import { existsSync, readFileSync } from 'node:fs';
import type { Profiler } from 'node:inspector';
import { SourceMap } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A frame of a CPU or allocation profile. */
export type CallFrame = Profiler.ProfileNode['callFrame'];

/** The repository's root (where pnpm-workspace.yaml is), from a bundle or from source alike. */
const root = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

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

  of(frame: CallFrame): Origin {
    const key = `${frame.url}\0${frame.functionName}\0${frame.lineNumber}\0${frame.columnNumber}`;
    let origin = this.#cache.get(key);
    if (!origin) {
      origin = this.#classify(frame);
      this.#cache.set(key, origin);
    }
    return origin;
  }

  #classify(frame: CallFrame): Origin {
    const { url, functionName } = frame;
    if (url === '') {
      if (functionName === '(garbage collector)') return { bucket: GC };
      // (root) holds what an allocation profile samples with no JS frame on the stack.
      if (functionName === '(program)' || functionName === '(root)') return { bucket: PROGRAM };
      if (functionName === '(idle)') return { bucket: IDLE };
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

/**
 * Sums an amount (sampled µs, allocated bytes) per origin: per bucket, per Switchyard function,
 * and, for Node's and native code, per Switchyard function that called it directly.
 */
export class Attribution {
  readonly buckets = new Map<string, number>();
  /** Per Switchyard function (`name package/src/…:line`). */
  readonly functions = new Map<string, number>();
  /**
   * Node internals and native code called directly by Switchyard's code (the first frame below
   * them that is neither is Switchyard's), by `callee ← Switchyard caller`. Also counted in the
   * node-internals and native buckets, not in Switchyard's.
   */
  readonly calledBySwitchyard = new Map<string, number>();
  readonly #origins: FrameOrigins;
  readonly #callerOf = new Map<number, string | undefined>();

  constructor(origins: FrameOrigins) {
    this.#origins = origins;
  }

  /**
   * Counts `amount` for `frame`. `callers` yields the frames below it, nearest first; it is
   * walked only for Node's and native frames, once per `nodeId`.
   */
  add(frame: CallFrame, amount: number, callers: () => Iterable<CallFrame>, nodeId: number): void {
    const origin = this.#origins.of(frame);
    add(this.buckets, origin.bucket, amount);
    if (origin.label) add(this.functions, origin.label, amount);
    else if (isNodeOrNative(origin.bucket)) {
      let key: string | undefined;
      if (this.#callerOf.has(nodeId)) key = this.#callerOf.get(nodeId);
      else {
        for (const caller of callers()) {
          const below = this.#origins.of(caller);
          if (isNodeOrNative(below.bucket)) continue;
          if (below.label) {
            key = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${frame.url}` : ''} ← ${below.label}`;
          }
          break;
        }
        this.#callerOf.set(nodeId, key);
      }
      if (key) add(this.calledBySwitchyard, key, amount);
    }
  }
}

const isNodeOrNative = (bucket: string) => bucket === NODE || bucket.startsWith(NATIVE);

function add(map: Map<string, number>, key: string, amount: number): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}
