import { createHash, randomBytes } from 'node:crypto';
import {
  type Clock,
  describeValue,
  type RegisterOptions,
  type Registry,
  type RegistryWriter,
  type RejectedEntry,
  type ResolveOptions,
  rejectUnknownOptions,
  type ServiceInstance,
  systemClock,
  TypedEmitter,
  ValidationError,
  validateInstance,
  validateServiceName,
} from '@switchyard/core';
import { LRUCache } from 'lru-cache';
import { Agent } from 'undici';
import { jitteredBackoff } from './backoff.ts';
import type {
  HttpRegistryEvents,
  HttpRegistryOptions,
  HttpRegistryTlsOptions,
} from './http-registry-types.ts';
import { LongPollWatch } from './long-poll-watch.ts';
import { expectStatus, parseIndex, parseInstanceList, parseNameList } from './parse-answer.ts';
import {
  type RegistryAnswer,
  type RegistryCall,
  type RegistryEndpoint,
  sendRegistryCall,
  validateBaseUrl,
} from './registry-transport.ts';
import { OWNER_HEADER } from './request-credentials.ts';

const OPTION_KEYS = [
  'url',
  'token',
  'ownerKey',
  'tls',
  'fetch',
  'watchWaitMs',
  'timeoutMs',
  'backoff',
  'clock',
  'maxResponseBytes',
  'maxInstances',
] as const;

// Distinct bad entries remembered so each is reported once; beyond this the oldest are forgotten.
const REPORTED_ENTRIES = 10_000;

import { validateTimerMs } from './timer-ms.ts';

// Time the server may take beyond `waitMs` before a long-poll counts as lost.
const LONG_POLL_MARGIN_MS = 5_000;

/**
 * Client of the registry HTTP protocol (the embedded registry server, or its msw mock).
 *
 * @example
 * const registry = new HttpRegistry({ url: 'http://127.0.0.1:4000' });
 * registry.on('registryStale', ({ service, error }) => console.warn(service, error.message));
 * const stop = registry.watch('users', (instances) => console.log(instances.length));
 * await registry.register(instance, { ttlMs: 10_000 });
 */
export class HttpRegistry extends TypedEmitter<HttpRegistryEvents> implements Registry, RegistryWriter {
  readonly #endpoint: RegistryEndpoint;
  readonly #maxInstances: number;
  readonly #reported = new LRUCache<string, true>({ max: REPORTED_ENTRIES });
  readonly #watchWaitMs: number;
  readonly #timeoutMs: number;
  readonly #backoff;
  readonly #clock: Clock;
  readonly #watches = new Map<string, LongPollWatch>();

  constructor(options: HttpRegistryOptions) {
    super();
    if (options === undefined || options === null) {
      throw new ValidationError('url', 'required: new HttpRegistry({ url: "http://127.0.0.1:4000" })');
    }
    rejectUnknownOptions(options, OPTION_KEYS, 'HttpRegistry options');
    const url = validateBaseUrl(options.url);
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new ValidationError('fetch', `expected a function, got ${describeValue(options.fetch)}`);
    }
    if (options.tls !== undefined && options.fetch !== undefined) {
      throw new ValidationError('tls', 'applies to the built-in fetch only: configure TLS on your own fetch');
    }
    const headers: Record<string, string> = {
      [OWNER_HEADER]: secret(options.ownerKey, 'ownerKey') ?? randomBytes(18).toString('base64url'),
    };
    const token = secret(options.token, 'token');
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    this.#endpoint = {
      baseUrl: url,
      fetch: options.fetch,
      headers,
      dispatcher: options.tls === undefined ? undefined : tlsDispatcher(options.tls),
      maxResponseBytes: positiveInteger(options.maxResponseBytes ?? 16 * 2 ** 20, 'maxResponseBytes'),
    };
    this.#maxInstances = positiveInteger(options.maxInstances ?? 10_000, 'maxInstances');
    this.#watchWaitMs = validateTimerMs(options.watchWaitMs ?? 30_000, 'watchWaitMs') as number;
    this.#timeoutMs = validateTimerMs(options.timeoutMs ?? 10_000, 'timeoutMs') as number;
    this.#backoff = jitteredBackoff(options.backoff);
    this.#clock = options.clock ?? systemClock;
  }

  /** The live instances. Rejects with ServiceNotFoundError, RegistryUnavailableError or RegistryProtocolError. */
  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    return (await this.#poll(validateServiceName(service), undefined, options.signal)).instances;
  }

  /**
   * Long-polls the service and calls `listener` with the first list, then with every change.
   * Listeners of one service share one poll loop; it stops when the last one unsubscribes.
   */
  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    let watch = this.#watches.get(service);
    if (!watch) {
      const created: LongPollWatch = new LongPollWatch({
        service,
        poll: (index, signal) => this.#poll(service, index, signal),
        backoff: this.#backoff,
        clock: this.#clock,
        onError: (error) => this.emit('error', { service, error }),
        onStale: (error) => this.emit('registryStale', { service, error }),
        onRecovered: (staleForMs) => this.emit('registryRecovered', { service, staleForMs }),
        onIdle: () => {
          if (this.#watches.get(service) === created) this.#watches.delete(service);
        },
      });
      watch = created;
      this.#watches.set(service, watch);
    }
    return watch.add(listener);
  }

  /** Registers (or replaces) an instance; with `ttlMs` it must heartbeat to stay. */
  async register(instance: ServiceInstance, options: RegisterOptions = {}): Promise<void> {
    const clean = validateInstance(instance);
    const ttlMs = validateTimerMs(options.ttlMs);
    const body = JSON.stringify(ttlMs === undefined ? clean : { ...clean, ttlMs });
    const answer = await this.#send({
      method: 'POST',
      path: '/register',
      body,
      signal: options.signal,
      service: clean.service,
      instanceId: clean.id,
    });
    expectStatus(answer, 201, clean.service, clean.id);
  }

  /** Removes an instance. Rejects with ServiceNotFoundError when the registry does not have it. */
  async deregister(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const path = instancePath(service, id);
    const answer = await this.#send({
      method: 'DELETE',
      path,
      signal: options.signal,
      service,
      instanceId: id,
    });
    expectStatus(answer, 204, service, id);
  }

  /** Renews the TTL. ServiceNotFoundError means the registry forgot the instance: register again. */
  async heartbeat(service: string, id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const path = `${instancePath(service, id)}/heartbeat`;
    const answer = await this.#send({ method: 'PUT', path, signal: options.signal, service, instanceId: id });
    expectStatus(answer, 204, service, id);
  }

  /** Names of every service the registry knows. */
  async services(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const answer = await this.#send({ method: 'GET', path: '/services', signal: options.signal });
    expectStatus(answer, 200, undefined, undefined);
    return parseNameList(answer.text);
  }

  /** Stops every watch and aborts their polls in flight. */
  async close(): Promise<void> {
    const watches = [...this.#watches.values()];
    this.#watches.clear();
    await Promise.all(watches.map((watch) => watch.stop()));
    const { dispatcher } = this.#endpoint;
    if (dispatcher instanceof Agent) await dispatcher.close();
  }

  async #poll(service: string, index: number | undefined, signal: AbortSignal | undefined) {
    const query = index === undefined ? '' : `?index=${index}&waitMs=${this.#watchWaitMs}`;
    const answer = await this.#send({
      method: 'GET',
      path: `/services/${encodeURIComponent(service)}${query}`,
      signal,
      service,
      timeoutMs: index === undefined ? this.#timeoutMs : this.#watchWaitMs + LONG_POLL_MARGIN_MS,
      maxEntries: this.#maxInstances,
    });
    expectStatus(answer, 200, service, undefined);
    const instances = parseInstanceList(service, answer.text, this.#maxInstances, (rejected) =>
      this.#reportInvalid(service, rejected),
    );
    return {
      instances,
      index:
        index === undefined && !answer.headers.has('x-registry-index')
          ? 0
          : parseIndex(service, answer.headers),
    };
  }

  /** Once per distinct bad entry (bounded memory), not on every resolve and poll that sees it again. */
  #reportInvalid(service: string, { index, entry, error }: RejectedEntry): void {
    let text: string;
    try {
      text = JSON.stringify(entry) ?? String(entry);
    } catch {
      text = String(entry);
    }
    const key = createHash('sha256').update(`${service}\0${error.message}\0${text}`).digest('base64url');
    if (this.#reported.has(key)) return;
    this.#reported.set(key, true);
    this.emit('invalidInstance', { service, index, entry, reason: error.message, error });
  }

  #send(call: Omit<RegistryCall, 'timeoutMs'> & { timeoutMs?: number }): Promise<RegistryAnswer> {
    return sendRegistryCall(this.#endpoint, {
      ...call,
      timeoutMs: call.timeoutMs ?? this.#timeoutMs,
    });
  }
}

function secret(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  // The message never shows the value: it is a secret.
  if (typeof value !== 'string' || value.length === 0 || [...value].some(isSpaceOrControl)) {
    throw new ValidationError(field, `expected a non-empty string without spaces or control characters`);
  }
  return value;
}

function isSpaceOrControl(char: string): boolean {
  const code = char.charCodeAt(0);
  return code <= 0x20 || code === 0x7f;
}

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(field, `expected an integer >= 1, got ${describeValue(value)}`);
  }
  return value;
}

function tlsDispatcher(tls: HttpRegistryTlsOptions): Agent {
  rejectUnknownOptions(tls, ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'], 'tls');
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new ValidationError(tls.cert === undefined ? 'tls.cert' : 'tls.key', 'give cert and key together');
  }
  const connect: Record<string, unknown> = {};
  if (tls.ca !== undefined) connect.ca = tls.ca;
  if (tls.cert !== undefined) connect.cert = tls.cert;
  if (tls.key !== undefined) connect.key = tls.key;
  if (tls.servername !== undefined) connect.servername = tls.servername;
  if (tls.rejectUnauthorized !== undefined) connect.rejectUnauthorized = tls.rejectUnauthorized;
  return new Agent({ connect });
}

function instancePath(service: string, id: string): string {
  validateServiceName(service);
  if (typeof id !== 'string' || id.length === 0) {
    throw new ValidationError('id', `expected a non-empty instance id, got ${JSON.stringify(id)}`, {
      service,
    });
  }
  return `/services/${encodeURIComponent(service)}/instances/${encodeURIComponent(id)}`;
}
