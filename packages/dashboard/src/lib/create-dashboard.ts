import { createHash, timingSafeEqual } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceDiscoveryClient } from '@switchyard/client';
import {
  type AttemptEndMessage,
  type Clock,
  describeValue,
  rejectUnknownOptions,
  SWITCHYARD_CHANNELS,
  systemClock,
  ValidationError,
} from '@switchyard/core';
import { type DashboardState, dashboardState } from './dashboard-state.ts';
import { EventLog } from './event-log.ts';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.ts';
import { TrafficRecorder } from './traffic-recorder.ts';

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** Where the page lives on the server it is mounted on. Default `/switchyard`. */
  readonly basePath?: string;
  /**
   * Required as `Authorization: Bearer <token>`, or once as `?token=` on the page URL (which
   * then sets an HttpOnly, SameSite=Strict cookie and redirects to drop it from the URL).
   */
  readonly token?: string;
  /** How often the page is pushed a new state over SSE. Default 1,000 ms. */
  readonly pushIntervalMs?: number;
  /** Open SSE streams at most; more get 503. Default 16. */
  readonly maxStreams?: number;
  /** Events kept for the page. Default 200. */
  readonly maxEvents?: number;
  readonly clock?: Clock;
}

/** A mounted dashboard: a request handler, and its own server if you ask for one. */
export interface Dashboard {
  /** Serves the page, `state.json` and `events` (SSE) under `basePath`; false for other paths. */
  handle(request: IncomingMessage, response: ServerResponse): boolean;
  /** The data the page shows, now. */
  state(): DashboardState;
  /** Starts a server of its own (default on 127.0.0.1) and resolves with the page's URL. */
  listen(options?: { readonly port?: number; readonly host?: string }): Promise<string>;
  /** Ends the SSE streams, stops listening and unsubscribes from the client. */
  close(): Promise<void>;
}

const EVENTS = [
  'ejected',
  'restored',
  'unhealthy',
  'healthy',
  'panic',
  'panicOver',
  'breakerOpen',
  'breakerHalfOpen',
  'breakerClose',
  'registryStale',
  'registryRecovered',
  'invalidInstance',
  'budgetExhausted',
] as const;

/**
 * A live page for one client: per service, its instances with zone, state (routable, ejected,
 * unhealthy, breaker open…), in-flight, share of traffic and p50/p99 latency over the last
 * minute with a chart each, the balancer in use, and recent events. Off unless you mount it;
 * never shows registry credentials or instance metadata.
 *
 * @example
 * const dashboard = createDashboard(client, { token: process.env.ADMIN_TOKEN });
 * adminServer.on('request', (req, res) => dashboard.handle(req, res) || notFound(res));
 * // or: console.log(await dashboard.listen({ port: 9901 }));
 */
export function createDashboard(client: ServiceDiscoveryClient, options: DashboardOptions = {}): Dashboard {
  rejectUnknownOptions(options, ['basePath', 'token', 'pushIntervalMs', 'maxStreams', 'maxEvents', 'clock']);
  const basePath = (options.basePath ?? '/switchyard').replace(/\/+$/, '');
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(basePath)) {
    throw new ValidationError(
      'basePath',
      `expected a path like /switchyard, got ${describeValue(options.basePath)}`,
    );
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 8)) {
    throw new ValidationError('token', 'expected a string of at least 8 characters');
  }
  const pushIntervalMs = options.pushIntervalMs ?? 1_000;
  const maxStreams = options.maxStreams ?? 16;
  const clock = options.clock ?? systemClock;
  const traffic = new TrafficRecorder();
  const log = new EventLog(options.maxEvents ?? 200);
  const streams = new Set<ServerResponse>();
  const tokenDigest = options.token === undefined ? undefined : digest(options.token);
  const cookieName = 'switchyard_dashboard';
  let server: Server | undefined;
  let closed = false;

  const onAttempt = (message: unknown) => {
    const end = message as AttemptEndMessage;
    const { call, instance } = end.attempt;
    if (call.client !== client) return;
    traffic.record(call.service, instance.id, clock.now(), end.durationMs, end.ok);
  };
  subscribe(SWITCHYARD_CHANNELS.attemptEnd, onAttempt);
  const offs = EVENTS.map((name) =>
    client.on(name, (payload: unknown) => log.add(Date.now(), name, payload)),
  );

  const state = () => dashboardState(client, traffic, log, clock.now());
  const push = setInterval(() => {
    if (streams.size === 0) return;
    const data = `event: state\ndata: ${JSON.stringify(state())}\n\n`;
    for (const stream of streams) stream.write(data);
  }, pushIntervalMs);
  push.unref();

  const authorized = (request: IncomingMessage): boolean => {
    if (!tokenDigest) return true;
    const header = request.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const cookie = request.headers.cookie
      ?.split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${cookieName}=`))
      ?.slice(cookieName.length + 1);
    const offered = bearer ?? (cookie === undefined ? undefined : decodeURIComponent(cookie));
    return offered !== undefined && timingSafeEqual(digest(offered), tokenDigest);
  };

  const handle = (request: IncomingMessage, response: ServerResponse): boolean => {
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    if (path !== basePath && !path.startsWith(`${basePath}/`)) return false;
    const rest = path.slice(basePath.length);
    const headers = {
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'",
      'x-frame-options': 'DENY',
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...headers, allow: 'GET, HEAD' }).end();
      return true;
    }
    if (rest === '' || rest === '/') {
      const offered = url.searchParams.get('token');
      if (tokenDigest && offered !== null) {
        if (!timingSafeEqual(digest(offered), tokenDigest)) {
          response.writeHead(401, headers).end('unauthorized\n');
          return true;
        }
        response
          .writeHead(303, {
            ...headers,
            location: `${basePath}/`,
            'set-cookie': `${cookieName}=${encodeURIComponent(offered)}; HttpOnly; SameSite=Strict; Path=${basePath || '/'}`,
          })
          .end();
        return true;
      }
    }
    if (!authorized(request)) {
      response.writeHead(401, { ...headers, 'www-authenticate': 'Bearer' }).end('unauthorized\n');
      return true;
    }
    if (rest === '') {
      response.writeHead(308, { ...headers, location: `${basePath}/` }).end();
    } else if (rest === '/') {
      response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
    } else if (rest === '/app.js') {
      response.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' }).end(PAGE_JS);
    } else if (rest === '/app.css') {
      response.writeHead(200, { ...headers, 'content-type': 'text/css; charset=utf-8' }).end(PAGE_CSS);
    } else if (rest === '/state.json') {
      response
        .writeHead(200, { ...headers, 'content-type': 'application/json' })
        .end(JSON.stringify(state()));
    } else if (rest === '/events') {
      if (closed || streams.size >= maxStreams) {
        response.writeHead(503, { ...headers, 'retry-after': '5' }).end('too many dashboard streams\n');
        return true;
      }
      response.writeHead(200, { ...headers, 'content-type': 'text/event-stream', connection: 'keep-alive' });
      response.write(`retry: 2000\nevent: state\ndata: ${JSON.stringify(state())}\n\n`);
      streams.add(response);
      response.on('close', () => streams.delete(response));
    } else {
      response.writeHead(404, headers).end('not found\n');
    }
    return true;
  };

  return {
    handle,
    state,
    async listen(listenOptions = {}) {
      if (server) throw new ValidationError('listen', 'this dashboard already listens');
      const created = createServer((request, response) => {
        if (!handle(request, response)) response.writeHead(404).end('not found\n');
      });
      created.headersTimeout = 10_000;
      created.requestTimeout = 15_000;
      created.listen(listenOptions.port ?? 0, listenOptions.host ?? '127.0.0.1');
      await once(created, 'listening');
      server = created;
      const address = created.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}${basePath}/`;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(push);
      unsubscribe(SWITCHYARD_CHANNELS.attemptEnd, onAttempt);
      for (const off of offs) off();
      for (const stream of streams) stream.end();
      streams.clear();
      if (server) {
        const done = once(server, 'close');
        server.close();
        server.closeAllConnections();
        await done;
      }
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
