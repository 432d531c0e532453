import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validatePort } from '@switchyard/core';
import { InMemoryRegistry } from './in-memory-registry.ts';
import { createRegistryHandler, type RegistryHandlerOptions } from './registry-handler.ts';

export interface RegistryServerOptions extends RegistryHandlerOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1: the embedded registry is not meant to face the open network. */
  readonly host?: string;
  /** The store to serve; default a fresh InMemoryRegistry that `close()` also closes. */
  readonly registry?: InMemoryRegistry;
}

export interface RegistryServer {
  /** `http://host:port`, ready for `new HttpRegistry({ url })`. */
  readonly url: string;
  readonly port: number;
  readonly registry: InMemoryRegistry;
  /** Ends long-polls, closes every socket and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts the embedded registry server (the HTTP protocol of ARCHITECTURE.md) on node:http.
 *
 * @example
 * const server = await createRegistryServer({ port: 0 });
 * const registry = new HttpRegistry({ url: server.url });
 * // …
 * await server.close();
 */
export async function createRegistryServer(options: RegistryServerOptions = {}): Promise<RegistryServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (port !== 0) validatePort(port);
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const ownsRegistry = options.registry === undefined;
  const registry = options.registry ?? new InMemoryRegistry();
  const handle = createRegistryHandler(registry, { ...options, maxBodyBytes });
  // Every in-flight request's controller: close() aborts them so long-polls end at once.
  const inflight = new Set<AbortController>();

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
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
      });
      send(res, answer.status, answer.headers, answer.body);
    } catch (error) {
      if (controller.signal.aborted) return;
      send(res, 500, { 'content-type': 'application/json' }, JSON.stringify({ error: String(error) }));
    } finally {
      inflight.delete(controller);
    }
  };

  const server = createServer((req, res) => void onRequest(req, res));
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
    url: `http://${urlHost}:${bound}`,
    port: bound,
    registry,
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

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function tooLarge(limit: number): string {
  return JSON.stringify({ error: `body larger than ${limit} bytes` });
}
