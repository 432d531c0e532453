/**
 * Bodies that can be sent again as they are: nothing, a string, bytes, or a Blob (undici reads
 * a fresh stream from it each time).
 */
export function isReplayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    (typeof Blob !== 'undefined' && body instanceof Blob)
  );
}

/**
 * Wraps a body that can be read only once (a stream, an async iterable; fetch hands every body
 * over as one) and records whether anything pulled from it. Until then an attempt that failed
 * (connection refused) can pass the same body to the next instance; after it, the body may have
 * been sent and cannot be sent again.
 */
export class OnceBody implements AsyncIterable<unknown> {
  readonly #source: AsyncIterable<unknown> | Iterable<unknown>;
  #iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
  #started = false;

  constructor(source: AsyncIterable<unknown> | Iterable<unknown>) {
    this.#source = source;
  }

  /** Whether a read began: from then on the body may have left this process. */
  get started(): boolean {
    return this.#started;
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return {
      next: async () => {
        this.#started = true;
        this.#iterator ??= iteratorOf(this.#source);
        return this.#iterator.next();
      },
      return: async (value?: unknown) => {
        const done = { done: true as const, value };
        // Nothing was read: leave the source as it is for the next attempt.
        if (this.#iterator === undefined) return done;
        return (await this.#iterator.return?.(value)) ?? done;
      },
    };
  }
}

/** Whether undici could send `body` as an iterable (streams are async iterables). */
export function isIterableBody(body: unknown): body is AsyncIterable<unknown> | Iterable<unknown> {
  return (
    typeof body === 'object' &&
    body !== null &&
    (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
      typeof (body as Iterable<unknown>)[Symbol.iterator] === 'function')
  );
}

function iteratorOf(
  source: AsyncIterable<unknown> | Iterable<unknown>,
): AsyncIterator<unknown> | Iterator<unknown> {
  const asyncIterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator];
  if (typeof asyncIterator === 'function') return asyncIterator.call(source);
  return (source as Iterable<unknown>)[Symbol.iterator]();
}
