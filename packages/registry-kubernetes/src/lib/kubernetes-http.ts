import { readFile } from 'node:fs/promises';
import {
  abortReason,
  RegistryProtocolError,
  RegistryUnavailableError,
  type SwitchyardError,
} from '@switchyard/core';
import { Agent, fetch as undiciFetch } from 'undici';
import type { FetchLike, ResolvedKubernetesOptions } from './kubernetes-options.ts';
import { KubernetesPermissionError } from './kubernetes-permission-error.ts';

/** A watch or list that the server answered with 410 Gone: the resourceVersion is too old. */
export class ResourceExpired extends Error {}

const TOKEN_REFRESH_MS = 60_000;

/**
 * The API server connection: authentication (a static token, or a token file re-read every
 * minute), TLS with the cluster's CA through an undici Agent of our own (so it works whatever
 * undici Node bundles), and the mapping of statuses to typed errors.
 */
export class KubernetesHttp {
  readonly #options: ResolvedKubernetesOptions;
  readonly #agent: Agent | undefined;
  #token: string | undefined;
  #tokenReadAt = Number.NEGATIVE_INFINITY;

  constructor(options: ResolvedKubernetesOptions) {
    this.#options = options;
    this.#token = options.token;
    const tls = options.ca !== undefined || options.cert !== undefined;
    this.#agent =
      tls && options.fetch === undefined && options.url.startsWith('https:')
        ? new Agent({
            connect: {
              ...(options.ca === undefined ? {} : { ca: options.ca }),
              ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
            },
          })
        : undefined;
  }

  /**
   * GET `path` (relative to the API server). Resolves with the response once its headers are
   * in and its status is 200; every other status becomes a typed error (410 → ResourceExpired).
   * `signal` aborts the request and the body stream.
   */
  async get(path: string, service: string, signal: AbortSignal, timeoutMs?: number): Promise<Response> {
    if (signal.aborted) throw abortReason(signal);
    const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(Math.ceil(timeoutMs));
    const combined = timeout ? AbortSignal.any([signal, timeout]) : signal;
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = await this.#currentToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.#fetch()(`${this.#options.url}${path}`, {
        method: 'GET',
        headers,
        signal: combined,
        ...(this.#agent ? { dispatcher: this.#agent } : {}),
      } as RequestInit);
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      const detail = timeout?.aborted ? `no answer within ${timeoutMs} ms` : describeNetworkError(error);
      throw new RegistryUnavailableError(`Kubernetes GET ${path.split('?')[0]} failed: ${detail}`, {
        service,
        cause: error,
      });
    }
    if (response.status === 200) return response;
    const text = await readCapped(response, 4096, signal).catch(() => '');
    throw statusError(response.status, text, path, service, this.#options.namespace);
  }

  async close(): Promise<void> {
    await this.#agent?.close();
  }

  #fetch(): FetchLike {
    if (this.#options.fetch) return this.#options.fetch;
    return this.#agent ? (undiciFetch as unknown as FetchLike) : globalThis.fetch;
  }

  async #currentToken(): Promise<string | undefined> {
    const file = this.#options.tokenFile;
    if (file === undefined) return this.#token;
    const now = this.#options.clock.now();
    if (now - this.#tokenReadAt >= TOKEN_REFRESH_MS) {
      this.#tokenReadAt = now;
      try {
        this.#token = (await readFile(file, 'utf8')).trim() || undefined;
      } catch {
        // Keep the last token: a rotation in progress must not drop authentication.
      }
    }
    return this.#token;
  }
}

/**
 * Reads a body as text up to `maxBytes`; past that the stream is cancelled and a
 * RegistryProtocolError says so (a huge answer never lands in memory whole).
 */
export async function readCapped(response: Response, maxBytes: number, signal: AbortSignal): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body?.cancel().catch(() => undefined);
    throw new RegistryProtocolError(`answer of ${declared} bytes exceeds maxResponseBytes (${maxBytes})`);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  try {
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > maxBytes) {
        reader.cancel().catch(() => undefined);
        throw new RegistryProtocolError(`answer exceeds maxResponseBytes (${maxBytes})`);
      }
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text + decoder.decode();
}

function statusError(
  status: number,
  text: string,
  path: string,
  service: string,
  namespace: string,
): SwitchyardError | ResourceExpired {
  const message = statusMessage(text);
  if (status === 410) return new ResourceExpired(message);
  if (status === 401 || status === 403) {
    return new KubernetesPermissionError(status, namespace, message, { service });
  }
  const detail = `Kubernetes GET ${path.split('?')[0]} answered ${status}${message ? `: ${message}` : ''}`;
  return status >= 500 || status === 429
    ? new RegistryUnavailableError(detail, { service })
    : new RegistryProtocolError(detail, { service });
}

/** The `message` of a Kubernetes `Status` body, or the start of whatever came. */
function statusMessage(text: string): string {
  try {
    const status = JSON.parse(text) as { message?: unknown };
    if (typeof status.message === 'string') return status.message.slice(0, 300);
  } catch {
    // not a Status object
  }
  return text.slice(0, 200);
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
