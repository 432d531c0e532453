import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { originOf, type ServiceInstance, sleep, validateInstance } from '@switchyard/core';
import { BackendFaults } from './backend-faults.ts';
import type { BackendHandler, BackendOptions, LoggedRequest } from './backend-handler.ts';
import { readBody, sendJson, sendTruncated, trackSockets } from './http-io.ts';

/**
 * A real `node:http` server on loopback with scripted faults, standing in for one instance of
 * a service. Create them with `startBackends`.
 *
 * @example
 * const [a] = await startBackends(1, { service: 'users' });
 * a.failWith(503, 2); // the next two requests answer 503
 * await a.down();     // connection refused from now on, until a.up()
 */
export class Backend {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly instance: ServiceInstance;
  /** Requests received, `/health` excluded, in arrival order. */
  readonly log: LoggedRequest[] = [];
  readonly #server: Server;
  readonly #handler: BackendHandler | undefined;
  readonly #maxBodyBytes: number;
  readonly #faults = new BackendFaults();
  readonly #sockets: ReadonlySet<Socket>;
  readonly #held = new Set<() => void>();
  #killed = false;

  /** Wraps a server that already listens on `options.instance`'s port; `startBackends` makes them. */
  constructor(server: Server, options: BackendOptions) {
    this.#server = server;
    this.#sockets = trackSockets(server);
    this.instance = validateInstance(options.instance);
    this.id = this.instance.id;
    this.port = this.instance.port;
    this.url = originOf(this.instance);
    this.#handler = options.handler;
    this.#maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      // A client that vanishes mid-body makes reading throw: that request is simply gone.
      this.#onRequest(req, res).catch(() => res.destroy());
    });
  }

  /** Requests received so far, `/health` excluded. */
  get requests(): number {
    return this.log.length;
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  /** Stops listening and destroys every open socket: new connections are refused. The port is kept for `up()`. */
  async down(): Promise<void> {
    this.#held.clear();
    if (!this.#server.listening) return;
    const closed = once(this.#server, 'close');
    this.#server.close();
    for (const socket of this.#sockets) socket.destroy();
    this.#server.closeAllConnections();
    await closed;
  }

  /** Listens again on the same port after `down()`. */
  async up(): Promise<void> {
    if (this.#killed) throw new Error(`backend ${this.id} was killed and cannot come back up`);
    if (this.#server.listening) return;
    this.#server.listen({ host: this.instance.host, port: this.port });
    await once(this.#server, 'listening');
  }

  /** Like `down()`, for good: `up()` refuses afterwards. */
  async kill(): Promise<void> {
    this.#killed = true;
    await this.down();
  }

  /** Delays every answer (failures included) by `ms`; 0 turns it off. */
  slow(ms: number): void {
    this.#faults.slow(ms);
  }

  /**
   * The next `count` requests answer `status` with a JSON body naming this backend, plus
   * `headers` (e.g. `{ 'retry-after': '1' }` with a 429 or 503).
   */
  failWith(
    status: number,
    count = Number.POSITIVE_INFINITY,
    options: { headers?: Record<string, string> } = {},
  ): void {
    this.#faults.failWith(status, count, options.headers);
  }

  /** The next `count` requests are read in full and never answered (until `reset()` or `down()`). */
  hang(count = Number.POSITIVE_INFINITY): void {
    this.#faults.hang(count);
  }

  /**
   * The next `count` answers send their headers and half the body, then the socket is destroyed:
   * an HTTP client gets the status and headers, and fails while reading the body.
   */
  resetMidBody(count = Number.POSITIVE_INFINITY): void {
    this.#faults.resetMidBody(count);
  }

  /**
   * The next `count` requests are read in full, then the connection is destroyed with no answer
   * at all: the caller cannot know whether the request was processed (a non-idempotent request
   * must not be sent again).
   */
  dropConnection(count = Number.POSITIVE_INFINITY): void {
    this.#faults.dropConnection(count);
  }

  /** What `GET /health` answers: 200 `{"status":"up"}` or 503 `{"status":"down"}`. */
  setHealth(healthy: boolean): void {
    this.#faults.healthy = healthy;
  }

  /** Forgets the requests received so far (`requests` back to 0). */
  clearLog(): void {
    this.log.length = 0;
  }

  /** Clears every fault; requests held by `hang()` get their normal answer now. */
  reset(): void {
    this.#faults.clear();
    const held = [...this.#held];
    this.#held.clear();
    for (const release of held) release();
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, this.#maxBodyBytes);
    const path = req.url ?? '/';
    if (body === undefined) return sendJson(res, 413, { error: 'body too large', instance: this.id });
    if (req.method === 'GET' && (path === '/health' || path.startsWith('/health?'))) {
      const healthy = this.#faults.healthy;
      return sendJson(res, healthy ? 200 : 503, { status: healthy ? 'up' : 'down', instance: this.id });
    }
    const method = req.method ?? 'GET';
    this.log.push({ method, path, headers: req.headers, body, at: Date.now() });
    const action = this.#faults.take();
    if (action.kind === 'hang') {
      // Held until reset() answers it, or down()/close destroys the socket.
      const release = () => void this.#answer(req, res, body, method, path);
      this.#held.add(release);
      res.once('close', () => this.#held.delete(release));
      return;
    }
    if (this.#faults.slowMs > 0) await sleep(this.#faults.slowMs);
    if (res.destroyed) return;
    if (action.kind === 'fail') {
      return sendJson(
        res,
        action.status,
        { error: `injected ${action.status}`, instance: this.id },
        action.headers,
      );
    }
    if (action.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (action.kind === 'resetMidBody') {
      return sendTruncated(res, { instance: this.id, method, path, padding: 'x'.repeat(256) });
    }
    await this.#answer(req, res, body, method, path);
  }

  async #answer(req: IncomingMessage, res: ServerResponse, body: string, method: string, path: string) {
    if (res.destroyed || res.headersSent) return;
    if (!this.#handler) {
      return sendJson(res, 200, { instance: this.id, method, path, ...(body ? { body } : {}) });
    }
    try {
      await this.#handler(req, res, this, body);
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: String(error), instance: this.id });
      else res.destroy();
    }
  }
}
