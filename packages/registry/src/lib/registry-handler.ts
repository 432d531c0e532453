import {
  describeValue,
  rejectUnknownOptions,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
  validateInstance,
  validateServiceName,
} from '@switchyard/core';
import type { InMemoryRegistry } from './in-memory-registry.ts';
import { RegistrationConflictError } from './registry-errors.ts';
import {
  bearerTokenMatches,
  type HeaderSource,
  isJsonContentType,
  ownerOf,
  tokenDigest,
} from './request-credentials.ts';
import { validateTimerMs } from './timer-ms.ts';

/** One protocol request, independent of the transport (node:http, msw, …). */
export interface RegistryRequest {
  readonly method: string;
  readonly pathname: string;
  readonly searchParams: URLSearchParams;
  readonly bodyText?: string | undefined;
  /** Aborts a pending long-poll (the client went away, the server is closing). */
  readonly signal: AbortSignal;
  /** The request headers (token, owner key, content type); none counts as all absent. */
  readonly headers?: HeaderSource | undefined;
}

export interface RegistryResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /**
   * JSON text, or '' for 204. A resolve answer is UTF-8 bytes shared by every request that sees
   * the same list: it is serialised once per change, not once per waiting watcher.
   */
  readonly body: string | Uint8Array;
}

export interface RegistryHandlerOptions {
  /** Longest long-poll the server accepts; longer `waitMs` is capped. Default 60 s. */
  readonly maxWaitMs?: number;
  /** Long-poll duration when the request gives `index` but no `waitMs`. Default 30 s. */
  readonly defaultWaitMs?: number;
  /** Bodies above this many bytes get 413. Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** Long-polls waiting at once; past it a watch gets 503 with `Retry-After`. Default 4,000. */
  readonly maxWatchers?: number;
  /**
   * When set, every request must carry `Authorization: Bearer <token>` (401 otherwise). The
   * token is compared in constant time and never echoed.
   */
  readonly token?: string;
}

export type RegistryHandler = (request: RegistryRequest) => Promise<RegistryResponse>;

/** The header carrying a service's change index on every resolve answer. */
export const REGISTRY_INDEX_HEADER = 'x-registry-index';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

/** What a watcher or connection turned away at a cap is told to wait before asking again. */
export const RETRY_AFTER_SECONDS = 5;

/** Every key of RegistryHandlerOptions, for the unknown-option check. */
export const HANDLER_OPTION_KEYS = [
  'maxWaitMs',
  'defaultWaitMs',
  'maxBodyBytes',
  'maxWatchers',
  'token',
] as const;

/**
 * The registry HTTP protocol (ARCHITECTURE.md) as a plain function, shared by the embedded
 * server and the testing kit's msw mock so the two can never disagree. A bad request changes
 * nothing and gets 400 with `{ error, field }`.
 *
 * @example
 * const handle = createRegistryHandler(new InMemoryRegistry());
 * const answer = await handle({ method: 'GET', pathname: '/services', searchParams: new URLSearchParams(), signal });
 */
export function createRegistryHandler(
  registry: InMemoryRegistry,
  options: RegistryHandlerOptions = {},
): RegistryHandler {
  rejectUnknownOptions(options, HANDLER_OPTION_KEYS, 'createRegistryHandler options');
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  const defaultWaitMs = Math.min(options.defaultWaitMs ?? 30_000, maxWaitMs);
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const maxWatchers = options.maxWatchers ?? 4_000;
  if (!Number.isSafeInteger(maxWatchers) || maxWatchers < 1) {
    throw new ValidationError('maxWatchers', `expected an integer >= 1, got ${describeValue(maxWatchers)}`);
  }
  let watchers = 0;
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0)) {
    throw new ValidationError('token', 'expected a non-empty string');
  }
  const expectedToken = options.token === undefined ? undefined : tokenDigest(options.token);

  const handle = async (request: RegistryRequest): Promise<RegistryResponse> => {
    if (expectedToken && !bearerTokenMatches(request.headers, expectedToken)) {
      return {
        status: 401,
        headers: { ...JSON_HEADERS, 'www-authenticate': 'Bearer realm="switchyard-registry"' },
        body: JSON.stringify({ error: 'missing or wrong bearer token' }),
      };
    }
    // JSON only: a cross-site form or `text/plain` fetch cannot send application/json without
    // a CORS preflight, which this server never grants.
    if ((request.bodyText ?? '') !== '' || (request.method === 'POST' && request.pathname === '/register')) {
      const type = request.headers?.get('content-type');
      if (!isJsonContentType(type)) {
        return json(415, {
          error: `expected Content-Type: application/json, got ${type ? JSON.stringify(type) : 'none'}`,
        });
      }
    }
    const owner = ownerOf(request.headers);
    const parts = splitPath(request.pathname);
    const { method } = request;
    if (parts.length === 1 && parts[0] === 'register') {
      if (method !== 'POST') return methodNotAllowed('POST');
      return register(request, owner);
    }
    if (parts[0] !== 'services') return json(404, { error: `no route for ${request.pathname}` });
    if (parts.length === 1) {
      if (method !== 'GET') return methodNotAllowed('GET');
      return json(200, registry.services());
    }
    const service = validateServiceName(parts[1], 'service');
    if (parts.length === 2) {
      if (method !== 'GET') return methodNotAllowed('GET');
      return resolve(service, request);
    }
    if (parts[2] === 'instances' && parts.length === 4) {
      if (method !== 'DELETE') return methodNotAllowed('DELETE');
      registry.deregisterSync(service, parts[3] as string, owner);
      return empty(204);
    }
    if (parts[2] === 'instances' && parts.length === 5 && parts[4] === 'heartbeat') {
      if (method !== 'PUT') return methodNotAllowed('PUT');
      registry.heartbeatSync(service, parts[3] as string, owner);
      return empty(204);
    }
    return json(404, { error: `no route for ${request.pathname}` });
  };

  const register = (request: RegistryRequest, owner: string): RegistryResponse => {
    const text = request.bodyText ?? '';
    if (Buffer.byteLength(text) > maxBodyBytes) {
      return json(413, { error: `body larger than ${maxBodyBytes} bytes` });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return json(400, { error: 'body is not valid JSON' });
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return json(400, { error: 'body must be a JSON object (a ServiceInstance, optional ttlMs)' });
    }
    // Check ttlMs first: it is the one field validateInstance does not know about.
    const ttlMs = validateTimerMs((body as { ttlMs?: unknown }).ttlMs);
    const instance = validateInstance(body);
    registry.registerSync(instance, ttlMs, owner);
    return json(201, instance);
  };

  const resolve = async (service: string, request: RegistryRequest): Promise<RegistryResponse> => {
    const index = optionalInteger(request.searchParams, 'index', 0);
    if (index !== undefined && index !== registry.indexOf(service)) {
      // Nothing to wait for: answer at once, without taking a watcher slot.
    } else if (index !== undefined) {
      const waitMs = optionalInteger(request.searchParams, 'waitMs', 0) ?? defaultWaitMs;
      if (watchers >= maxWatchers) {
        return {
          status: 503,
          headers: { ...JSON_HEADERS, 'retry-after': String(RETRY_AFTER_SECONDS) },
          body: JSON.stringify({ error: `too many watchers (at most ${maxWatchers}); retry later` }),
        };
      }
      watchers++;
      try {
        await registry.waitForChange(service, index, {
          timeoutMs: Math.min(waitMs, maxWaitMs),
          signal: request.signal,
        });
      } catch (error) {
        // The caller went away (or the server is closing): answer with the current state, which
        // nobody may read, rather than make every transport handle a rejection.
        if (!request.signal.aborted) throw error;
      } finally {
        watchers--;
      }
    }
    const current = registry.indexOf(service);
    if (!registry.has(service)) {
      return json(404, { error: `service ${service} not found`, service }, current);
    }
    return listAnswer(registry.resolveSync(service), current);
  };

  return async (request) => {
    try {
      return await handle(request);
    } catch (error) {
      if (error instanceof ValidationError) return json(400, { error: error.message, field: error.field });
      if (error instanceof RegistrationConflictError) {
        return json(409, { error: error.message, service: error.service, instanceId: error.instanceId });
      }
      if (error instanceof ServiceNotFoundError) {
        return json(404, { error: error.message, service: error.service, instanceId: error.instanceId });
      }
      throw error;
    }
  };
}

function splitPath(pathname: string): string[] {
  const parts = pathname.split('/').filter((part) => part.length > 0);
  try {
    return parts.map((part) => decodeURIComponent(part));
  } catch {
    throw new ValidationError('path', `malformed percent-encoding in ${pathname}`);
  }
}

function optionalInteger(params: URLSearchParams, name: string, min: number): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(name, `expected an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

// Each live list (frozen, replaced on every change) → its JSON bytes. Weak: a list and its bytes
// go together once the registry moves on, so this holds nothing a change has not replaced.
const encodedLists = new WeakMap<readonly ServiceInstance[], Uint8Array>();

/** A resolve answer: the list serialised once, its bytes shared by every request that reads it. */
function listAnswer(list: readonly ServiceInstance[], index: number): RegistryResponse {
  let body = encodedLists.get(list);
  if (!body) {
    body = Buffer.from(JSON.stringify(list));
    encodedLists.set(list, body);
  }
  return { status: 200, headers: { ...JSON_HEADERS, [REGISTRY_INDEX_HEADER]: String(index) }, body };
}

function json(status: number, value: unknown, index?: number): RegistryResponse {
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (index !== undefined) headers[REGISTRY_INDEX_HEADER] = String(index);
  return { status, headers, body: JSON.stringify(value) };
}

function empty(status: number): RegistryResponse {
  return { status, headers: {}, body: '' };
}

function methodNotAllowed(allow: string): RegistryResponse {
  return {
    status: 405,
    headers: { ...JSON_HEADERS, allow },
    body: JSON.stringify({ error: 'method not allowed' }),
  };
}
