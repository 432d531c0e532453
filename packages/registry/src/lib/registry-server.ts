import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { describeValue, rejectUnknownOptions, ValidationError, validatePort } from '@switchyard/core';
import { hostAllowlist } from './host-allowlist.ts';
import { InMemoryRegistry } from './in-memory-registry.ts';
import {
  createRegistryHandler,
  HANDLER_OPTION_KEYS,
  RETRY_AFTER_SECONDS,
  type RegistryHandlerOptions,
} from './registry-handler.ts';
import { validateTimerMs } from './timer-ms.ts';

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' } as const;
// Connections beyond maxConnections + this are dropped by Node without an answer.
const HARD_CONNECTION_MARGIN = 256;

const SERVER_OPTION_KEYS = [
  ...HANDLER_OPTION_KEYS,
  'port',
  'host',
  'registry',
  'maxConnections',
  'headersTimeoutMs',
  'requestTimeoutMs',
  'keepAliveTimeoutMs',
  'allowedHosts',
  'tls',
] as const;

export interface RegistryServerOptions extends RegistryHandlerOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1: the embedded registry is not meant to face the open network. */
  readonly host?: string;
  /** The store to serve; default a fresh InMemoryRegistry that `close()` also closes. */
  readonly registry?: InMemoryRegistry;
  /** Open connections at once; past it a new one gets 503 with `Retry-After` and is closed. Default 4,096. */
  readonly maxConnections?: number;
  /** A client must send its request headers within this time, or its socket is closed. Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** … and its whole request (headers and body) within this time. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this time. Default 5 s. */
  readonly keepAliveTimeoutMs?: number;
  /**
   * `Host` header values answered (others get 403): a defence against DNS rebinding. Default
   * `localhost`, 127.0.0.0/8, `::1` and the bound `host`. `['*']` accepts any.
   */
  readonly allowedHosts?: readonly string[];
  /** Serve https: PEM key and certificate; with `ca` and `requestCert`, clients need a certificate it signed (mTLS). */
  readonly tls?: RegistryServerTlsOptions;
}

export interface RegistryServerTlsOptions {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  /** CA(s) that sign client certificates (mTLS). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Require a client certificate signed by `ca`. Default false. */
  readonly requestCert?: boolean;
}

export interface RegistryServer {
  /** `http://host:port` (`https:` with `tls`), ready for `new HttpRegistry({ url })`. */
  readonly url: string;
  readonly port: number;
  readonly registry: InMemoryRegistry;
  /** Connections open now (watchers hold one each). */
  connections(): number;
  /** Ends long-polls, closes every socket and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts the embedded registry server (the HTTP protocol of ARCHITECTURE.md) on node:http, or
 * node:https with `tls`.
 *
 * @example
 * const server = await createRegistryServer({ port: 0 });
 * const registry = new HttpRegistry({ url: server.url });
 * // …
 * await server.close();
 */
export async function createRegistryServer(options: RegistryServerOptions = {}): Promise<RegistryServer> {
  rejectUnknownOptions(options, SERVER_OPTION_KEYS, 'createRegistryServer options');
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (port !== 0) validatePort(port);
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const hostAllowed = hostAllowlist(options.allowedHosts, host);
  const ownsRegistry = options.registry === undefined;
  const registry = options.registry ?? new InMemoryRegistry();
  const maxConnections = positiveInteger(options.maxConnections ?? 4_096, 'maxConnections');
  const headersTimeout = validateTimerMs(options.headersTimeoutMs ?? 10_000, 'headersTimeoutMs') as number;
  const requestTimeout = validateTimerMs(options.requestTimeoutMs ?? 30_000, 'requestTimeoutMs') as number;
  const keepAliveTimeout = validateTimerMs(
    options.keepAliveTimeoutMs ?? 5_000,
    'keepAliveTimeoutMs',
  ) as number;
  const handle = createRegistryHandler(registry, {
    ...pickHandlerOptions(options),
    maxBodyBytes,
  });
  // Every in-flight request's controller: close() aborts them so long-polls end at once.
  const inflight = new Set<AbortController>();

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req.headers.host)) {
      // Not an answer a rebinding page can use: no data, no CORS headers.
      send(res, 403, { ...JSON_TYPE }, JSON.stringify({ error: 'host not allowed' }));
      return;
    }
    if (refused.has(req.socket)) {
      const body = JSON.stringify({ error: `too many connections (at most ${maxConnections}); retry later` });
      send(res, 503, { ...JSON_TYPE, 'retry-after': String(RETRY_AFTER_SECONDS), connection: 'close' }, body);
      return;
    }
    const controller = new AbortController();
    inflight.add(controller);
    // The client hanging up (or close()) ends its long-poll instead of leaving a waiter behind.
    res.once('close', () => controller.abort());
    try {
      const bodyText = await readBody(req, maxBodyBytes);
      if (bodyText === undefined) {
        send(res, 413, { 'content-type': 'application/json', connection: 'close' }, tooLarge(maxBodyBytes));
        return;
      }
      const url = new URL(req.url ?? '/', 'http://registry');
      const answer = await handle({
        method: req.method ?? 'GET',
        pathname: url.pathname,
        searchParams: url.searchParams,
        bodyText,
        signal: controller.signal,
        headers: { get: (name) => headerValue(req, name) },
      });
      send(res, answer.status, answer.headers, answer.body);
    } catch (error) {
      if (controller.signal.aborted) return;
      send(res, 500, { 'content-type': 'application/json' }, JSON.stringify({ error: String(error) }));
    } finally {
      inflight.delete(controller);
    }
  };

  const httpOptions = {
    // Slow-header and slow-body sockets are closed instead of held open (Slowloris); the
    // check runs every second rather than Node's default 30 s.
    headersTimeout: Math.min(headersTimeout, requestTimeout),
    requestTimeout,
    keepAliveTimeout,
    connectionsCheckingInterval: Math.min(1_000, headersTimeout),
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => void onRequest(req, res);
  const tls = options.tls === undefined ? undefined : tlsOptions(options.tls);
  const server = tls
    ? createHttpsServer({ ...httpOptions, ...tls }, listener)
    : createServer(httpOptions, listener);
  // Past the cap a connection is answered 503 + Retry-After on its first request and closed
  // (one that sends nothing goes at headersTimeout); far past it Node drops it outright.
  let connections = 0;
  const refused = new WeakSet<Socket>();
  server.maxConnections = maxConnections + HARD_CONNECTION_MARGIN;
  // Count sockets as requests see them: the TLS socket for https, the TCP one for http.
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections++;
    socket.once('close', () => connections--);
    if (connections > maxConnections) refused.add(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    url: `${tls ? 'https' : 'http'}://${urlHost}:${bound}`,
    port: bound,
    registry,
    connections: () => connections,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const controller of inflight) controller.abort();
        server.closeAllConnections();
        await stopped;
        if (ownsRegistry) await registry.close();
      })();
      return closing;
    },
  };
}

/** Reads the body as text; `undefined` when it grows past `limit` (checked while streaming). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooBig = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      // Keep draining (and dropping) the rest so the 413 reaches the client, then the
      // `connection: close` answer ends the socket.
      req.on('error', () => {});
      req.resume();
      resolve(undefined);
    };
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooBig();
      else chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks).toString('utf8'));
    const onError = (error: Error) => reject(error);
    if (declared > limit) {
      tooBig();
      return;
    }
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Uint8Array,
): void {
  if (res.headersSent || res.destroyed) return;
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  res.writeHead(status, { ...headers, 'content-length': String(length) });
  res.end(body);
}

function tlsOptions(tls: RegistryServerTlsOptions) {
  rejectUnknownOptions(tls, ['key', 'cert', 'ca', 'requestCert'], 'tls');
  if (tls.key === undefined || tls.cert === undefined) {
    throw new ValidationError(
      tls.key === undefined ? 'tls.key' : 'tls.cert',
      'required for https: PEM key and cert',
    );
  }
  const requestCert = tls.requestCert ?? false;
  if (requestCert && tls.ca === undefined) {
    throw new ValidationError('tls.ca', 'required with requestCert: the CA that signs client certificates');
  }
  return {
    key: tls.key,
    cert: tls.cert,
    ...(tls.ca === undefined ? {} : { ca: tls.ca as string | Buffer | Array<string | Buffer> }),
    requestCert,
    rejectUnauthorized: requestCert,
  };
}

function headerValue(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(field, `expected an integer >= 1, got ${describeValue(value)}`);
  }
  return value;
}

function pickHandlerOptions(options: RegistryServerOptions): RegistryHandlerOptions {
  const picked: { -readonly [K in keyof RegistryHandlerOptions]: RegistryHandlerOptions[K] } = {};
  for (const key of HANDLER_OPTION_KEYS) {
    if (options[key] !== undefined) (picked as Record<string, unknown>)[key] = options[key];
  }
  return picked;
}

function tooLarge(limit: number): string {
  return JSON.stringify({ error: `body larger than ${limit} bytes` });
}
