import {
  type Registry,
  RegistryUnavailableError,
  type ResolveOptions,
  type ServiceInstance,
  sleep,
  ValidationError,
} from '@switchyard/core';

export interface RetryingRegistryOptions {
  /** Extra attempts after a failed resolve (default 3). */
  readonly retries?: number;
  /** Pause before retry n: `initialMs · 2^(n-1)`, capped at `maxMs` (defaults 5 ms and 50 ms). */
  readonly initialMs?: number;
  readonly maxMs?: number;
}

/**
 * A registry whose `resolve` retries when the registry is unavailable (network error, 5xx,
 * timeout), with short pauses: a test that scripts a transient registry fault sees it absorbed,
 * while a lasting outage still surfaces. Answers that are not outages (404, bad data) are not
 * retried. `watch` and `close` go straight to the inner registry.
 *
 * @example
 * const registry = new RetryingRegistry(new HttpRegistry({ url }), { retries: 2 });
 */
export class RetryingRegistry implements Registry {
  readonly #inner: Registry;
  readonly #retries: number;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly watch: Registry['watch'];

  constructor(inner: Registry, options: RetryingRegistryOptions = {}) {
    this.#inner = inner;
    this.#retries = options.retries ?? 3;
    this.#initialMs = options.initialMs ?? 5;
    this.#maxMs = options.maxMs ?? 50;
    if (!Number.isInteger(this.#retries) || this.#retries < 0) {
      throw new ValidationError('retries', `expected an integer >= 0, got ${String(options.retries)}`);
    }
    if (!(this.#initialMs >= 0) || !(this.#maxMs >= this.#initialMs)) {
      throw new ValidationError('initialMs', 'expected 0 <= initialMs <= maxMs');
    }
    // Only when the inner registry can watch, so the client still knows which kind it has.
    this.watch = inner.watch ? (service, listener) => inner.watch!(service, listener) : undefined;
  }

  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#inner.resolve(service, options);
      } catch (error) {
        if (!(error instanceof RegistryUnavailableError) || attempt >= this.#retries) throw error;
        await sleep(Math.min(this.#initialMs * 2 ** attempt, this.#maxMs), options.signal);
      }
    }
  }

  async close(): Promise<void> {
    await this.#inner.close?.();
  }
}
