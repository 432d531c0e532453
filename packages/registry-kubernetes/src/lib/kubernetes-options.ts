import { readFileSync } from 'node:fs';
import {
  type Clock,
  describeValue,
  rejectUnknownOptions,
  systemClock,
  ValidationError,
  validateServiceName,
} from '@switchyard/core';

/** The fetch signature the adapter needs (globalThis.fetch fits). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Where a pod finds its service account (the kubelet mounts it there). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Options of {@link KubernetesRegistry}. With none of `url`, `token` or `ca`, the registry runs
 * in-cluster: `KUBERNETES_SERVICE_HOST`/`_PORT`, the service account's token (re-read, as it
 * rotates), CA and namespace. `loadKubeconfig()` builds these options from a kubeconfig.
 */
export interface KubernetesRegistryOptions {
  /** The API server, e.g. `https://10.96.0.1:443` or `http://127.0.0.1:8001` (kubectl proxy). */
  readonly url?: string;
  /** Namespace of the Services. Default: the service account's namespace, else `default`. */
  readonly namespace?: string;
  /** Bearer token. Never logged or put in errors. */
  readonly token?: string;
  /** A file holding the bearer token, re-read every minute (projected tokens rotate). */
  readonly tokenFile?: string;
  /** PEM CA bundle that signs the API server's certificate (or `caFile`). */
  readonly ca?: string;
  readonly caFile?: string;
  /** PEM client certificate and key, for kubeconfigs that authenticate with them. */
  readonly cert?: string;
  readonly key?: string;
  /** Which port of the EndpointSlice: a name (`http`) or number. Default: a slice's first TCP port. */
  readonly port?: string | number;
  /** Deadline of a list request. Default 10,000 ms. */
  readonly requestTimeoutMs?: number;
  /** `timeoutSeconds` asked of the server for one watch request; it is then resumed. Default 300. */
  readonly watchTimeoutSeconds?: number;
  /**
   * Watchdog: a watch that brings no byte (event or bookmark) for this long is presumed stalled
   * and restarted. The API server sends a bookmark about once a minute. Default 150,000 ms.
   */
  readonly watchIdleMs?: number;
  /** Backoff bounds after a failed list or watch (equal jitter). Defaults 250 ms and 30,000 ms. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Largest list answer read. Default 16 MiB. */
  readonly maxResponseBytes?: number;
  /** Largest single watch event (one JSON line). Default 4 MiB. */
  readonly maxEventBytes?: number;
  /** Most slices per Service kept. Default 1,000. */
  readonly maxSlices?: number;
  /** Most endpoints per Service served; the rest are reported. Default 10,000. */
  readonly maxEndpoints?: number;
  /** Replaces the fetch used for plain requests (looked up at each request otherwise). */
  readonly fetch?: FetchLike;
  readonly clock?: Clock;
}

export interface ResolvedKubernetesOptions {
  readonly url: string;
  readonly namespace: string;
  readonly token: string | undefined;
  readonly tokenFile: string | undefined;
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly port: string | number | undefined;
  readonly requestTimeoutMs: number;
  readonly watchTimeoutSeconds: number;
  readonly watchIdleMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxResponseBytes: number;
  readonly maxEventBytes: number;
  readonly maxSlices: number;
  readonly maxEndpoints: number;
  readonly fetch: FetchLike | undefined;
  readonly clock: Clock;
}

const KNOWN = [
  'url',
  'namespace',
  'token',
  'tokenFile',
  'ca',
  'caFile',
  'cert',
  'key',
  'port',
  'requestTimeoutMs',
  'watchTimeoutSeconds',
  'watchIdleMs',
  'minBackoffMs',
  'maxBackoffMs',
  'maxResponseBytes',
  'maxEventBytes',
  'maxSlices',
  'maxEndpoints',
  'fetch',
  'clock',
];

/** Validates every option up front (and fills the in-cluster defaults); throws a ValidationError. */
export function resolveKubernetesOptions(
  options: KubernetesRegistryOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  serviceAccountDir = SERVICE_ACCOUNT_DIR,
): ResolvedKubernetesOptions {
  rejectUnknownOptions(options, KNOWN);
  for (const field of ['url', 'namespace', 'token', 'tokenFile', 'ca', 'caFile', 'cert', 'key'] as const) {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
      throw new ValidationError(field, `expected a non-empty string, got ${describeValue(value)}`);
    }
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new ValidationError(options.cert === undefined ? 'cert' : 'key', 'cert and key go together');
  }
  const inCluster = options.url === undefined;
  let url = options.url;
  if (inCluster) {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    if (!host) {
      throw new ValidationError(
        'url',
        'not running in a cluster (no KUBERNETES_SERVICE_HOST): pass { url } or use loadKubeconfig()',
      );
    }
    url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url as string);
  } catch {
    throw new ValidationError('url', `expected an absolute http(s) URL, got ${describeValue(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError('url', `expected http: or https:, got ${parsed.protocol}`);
  }
  const tokenFile =
    options.tokenFile ??
    (inCluster && options.token === undefined ? `${serviceAccountDir}/token` : undefined);
  const caFile =
    options.caFile ?? (inCluster && options.ca === undefined ? `${serviceAccountDir}/ca.crt` : undefined);
  const ca = options.ca ?? (caFile === undefined ? undefined : readText('caFile', caFile));
  const namespace =
    options.namespace ??
    (inCluster ? readOptional(`${serviceAccountDir}/namespace`) : undefined) ??
    'default';
  validateServiceName(namespace, 'namespace');
  const port = options.port;
  if (port !== undefined) {
    const ok =
      typeof port === 'number'
        ? Number.isInteger(port) && port >= 1 && port <= 65535
        : typeof port === 'string' && /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(port);
    if (!ok)
      throw new ValidationError('port', `expected a port name or 1..65535, got ${describeValue(port)}`);
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new ValidationError(
      'fetch',
      `expected a fetch-compatible function, got ${describeValue(options.fetch)}`,
    );
  }
  const minBackoffMs = positive('minBackoffMs', options.minBackoffMs, 250);
  const maxBackoffMs = positive('maxBackoffMs', options.maxBackoffMs, 30_000);
  if (minBackoffMs > maxBackoffMs) {
    throw new ValidationError(
      'minBackoffMs',
      `must not exceed maxBackoffMs (${minBackoffMs} > ${maxBackoffMs})`,
    );
  }
  return {
    url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`,
    namespace,
    token: options.token,
    tokenFile,
    ca,
    cert: options.cert,
    key: options.key,
    port,
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 10_000),
    watchTimeoutSeconds: integer('watchTimeoutSeconds', options.watchTimeoutSeconds, 300, 1, 3_600),
    watchIdleMs: positive('watchIdleMs', options.watchIdleMs, 150_000),
    minBackoffMs,
    maxBackoffMs,
    maxResponseBytes: integer('maxResponseBytes', options.maxResponseBytes, 16 * 1024 * 1024, 1024, 2 ** 31),
    maxEventBytes: integer('maxEventBytes', options.maxEventBytes, 4 * 1024 * 1024, 1024, 2 ** 31),
    maxSlices: integer('maxSlices', options.maxSlices, 1_000, 1, 1_000_000),
    maxEndpoints: integer('maxEndpoints', options.maxEndpoints, 10_000, 1, 1_000_000),
    fetch: options.fetch,
    clock: options.clock ?? systemClock,
  };
}

function positive(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 2_147_483_647) {
    throw new ValidationError(field, `expected milliseconds in (0, 2147483647], got ${describeValue(value)}`);
  }
  return value;
}

function integer(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `expected an integer in ${min}..${max}, got ${describeValue(value)}`);
  }
  return value;
}

function readText(field: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(
      field,
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
