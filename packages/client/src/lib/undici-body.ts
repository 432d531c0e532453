import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';

/** The response body `pool.request()` answers with: a Readable with `.json()`, `.text()`, `.dump()`… */
export type ResponseBody = Dispatcher.ResponseData['body'];

/** What undici's body class takes: the parser's resume, the request's abort, and the framing. */
export interface ResponseBodyOptions {
  readonly resume: () => void;
  readonly abort: ((reason?: Error) => void) | null;
  readonly contentType: string | undefined;
  readonly contentLength: number | null;
}

export type ResponseBodyClass = new (options: ResponseBodyOptions) => ResponseBody;

/**
 * undici's own body class, so that an answer read off its dispatch API is the very body users
 * know from `pool.request()`. undici does not export it, so it is reached by its path. If some
 * undici release moves it, this is null and requests go through `pool.request()` instead:
 * slower, with the same behaviour.
 */
export const ResponseBodyClass: ResponseBodyClass | null = load();

function load(): ResponseBodyClass | null {
  try {
    const module = createRequire(import.meta.url)('undici/lib/api/readable.js') as { Readable?: unknown };
    const candidate = module.Readable;
    if (typeof candidate !== 'function') return null;
    const prototype = candidate.prototype as Record<string, unknown>;
    const isBody = ['text', 'json', 'arrayBuffer', 'dump', 'pipe'].every(
      (name) => typeof prototype[name] === 'function',
    );
    return isBody ? (candidate as ResponseBodyClass) : null;
  } catch {
    return null;
  }
}
