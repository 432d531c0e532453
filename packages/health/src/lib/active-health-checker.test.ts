import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { ManualClock, type ServiceInstance, ValidationError } from '@switchyard/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActiveHealthChecker } from './active-health-checker.ts';
import { HealthCheckError } from './health-check-error.ts';
import type { ActiveHealthEvents } from './health-events.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real loopback HTTP backend whose behaviour a test can change between checks. */
async function backend(initial: Handler = (_req, res) => res.end('ok')) {
  const state = { handler: initial, requests: 0 };
  const server = createHttpServer((req, res) => {
    state.requests++;
    state.handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  const port = (server.address() as { port: number }).port;
  const instance: ServiceInstance = { id: `api-${port}`, service: 'api', host: '127.0.0.1', port };
  return { state, instance, server };
}

function status(code: number, body = ''): Handler {
  return (_req, res) => {
    res.statusCode = code;
    res.end(body);
  };
}

const hang: Handler = () => {};

function checker(options: ConstructorParameters<typeof ActiveHealthChecker>[0]) {
  const created = new ActiveHealthChecker(options);
  cleanups.push(() => created.close());
  return created;
}

function record<K extends keyof ActiveHealthEvents>(target: ActiveHealthChecker, event: K) {
  const seen: ActiveHealthEvents[K][] = [];
  target.events.on(event, (value) => seen.push(value));
  return seen;
}

async function closedPort(): Promise<number> {
  const server: Server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('ActiveHealthChecker over HTTP', () => {
  it('needs unhealthyThreshold failures in a row to mark down, and healthyThreshold successes to mark up', async () => {
    const { state, instance } = await backend();
    const clock = new ManualClock();
    const hc = checker({ type: 'http', clock, healthyThreshold: 2, unhealthyThreshold: 3 });
    const healthy = record(hc, 'healthy');
    const unhealthy = record(hc, 'unhealthy');
    hc.update([instance]);
    expect(hc.state(instance.id)).toBe('unknown');
    expect(hc.isRoutable(instance.id)).toBe(true);

    await hc.checkNow(instance.id);
    expect(hc.state(instance.id)).toBe('healthy'); // one success decides an unknown instance
    expect(healthy.map((e) => e.previous)).toEqual(['unknown']);

    state.handler = status(503);
    await hc.checkNow(instance.id);
    await hc.checkNow(instance.id);
    expect(hc.state(instance.id)).toBe('healthy'); // 2 of 3 failures: not yet
    await hc.checkNow(instance.id);
    expect(hc.state(instance.id)).toBe('unhealthy');
    expect(hc.isRoutable(instance.id)).toBe(false);
    expect(unhealthy).toHaveLength(1);
    expect(unhealthy[0]).toMatchObject({ service: 'api', instanceId: instance.id, previous: 'healthy' });
    expect(unhealthy[0]!.error).toBeInstanceOf(HealthCheckError);
    expect(unhealthy[0]!.error).toMatchObject({ failure: 'status', statusCode: 503 });

    state.handler = status(200);
    await hc.checkNow(instance.id);
    expect(hc.state(instance.id)).toBe('unhealthy'); // 1 of 2 successes
    await hc.checkNow(instance.id);
    expect(hc.state(instance.id)).toBe('healthy');
    expect(healthy.map((e) => e.previous)).toEqual(['unknown', 'unhealthy']);
    expect(state.requests).toBe(6);
  });

  it('a failure between successes resets the run (no flapping on one lost probe)', async () => {
    const { state, instance } = await backend();
    const hc = checker({ type: 'http', clock: new ManualClock(), unhealthyThreshold: 2 });
    hc.update([instance]);
    await hc.checkNow();
    for (let i = 0; i < 3; i++) {
      state.handler = status(500);
      await hc.checkNow();
      state.handler = status(200);
      await hc.checkNow();
    }
    expect(hc.state(instance.id)).toBe('healthy');
  });

  it('checks on its own interval with real timers: down after the flip, up again after recovery', async () => {
    const { state, instance } = await backend();
    const hc = checker({
      type: 'http',
      intervalMs: 10,
      timeoutMs: 5000,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    });
    const unhealthy = record(hc, 'unhealthy');
    hc.update([instance]);
    await vi.waitFor(() => expect(hc.state(instance.id)).toBe('healthy'), { timeout: 10_000 });
    state.handler = status(503);
    await vi.waitFor(() => expect(hc.state(instance.id)).toBe('unhealthy'), { timeout: 10_000 });
    state.handler = status(204);
    await vi.waitFor(() => expect(hc.state(instance.id)).toBe('healthy'), { timeout: 10_000 });
    expect(unhealthy).toHaveLength(1);
  });

  it('schedules on the injected clock with the jitter it was given', async () => {
    const { state, instance } = await backend();
    const clock = new ManualClock();
    const hc = checker({ type: 'http', clock, intervalMs: 1000, jitter: 0.5, random: () => 0.9 });
    const checked = record(hc, 'checked');
    hc.update([instance]);
    clock.advance(449); // first probe at 1000 × 0.5 × 0.9 = 450
    expect(state.requests).toBe(0);
    clock.advance(1);
    await vi.waitFor(() => expect(checked).toHaveLength(1), { timeout: 10_000 });
    clock.advance(1399); // next wait: 1000 × (1 − 0.5 + 2 × 0.5 × 0.9) = 1400
    expect(checked).toHaveLength(1);
    clock.advance(1);
    await vi.waitFor(() => expect(checked).toHaveLength(2), { timeout: 10_000 });
    expect(state.requests).toBe(2);
  });

  it('fails a check that gets no answer within timeoutMs', async () => {
    const { state, instance } = await backend(hang);
    const clock = new ManualClock();
    const hc = checker({ type: 'http', clock, timeoutMs: 500, unhealthyThreshold: 1 });
    const unhealthy = record(hc, 'unhealthy');
    hc.update([instance]);
    const done = hc.checkNow(instance.id);
    await vi.waitFor(() => expect(state.requests).toBe(1), { timeout: 10_000 });
    clock.advance(499);
    expect(hc.state(instance.id)).toBe('unknown');
    clock.advance(1);
    await done;
    expect(hc.state(instance.id)).toBe('unhealthy');
    expect(unhealthy[0]!.error).toMatchObject({ failure: 'timeout' });
    expect(unhealthy[0]!.error.message).toContain('500 ms');
  });

  it('checks the body when expectedBody is set (substring or RegExp)', async () => {
    const { instance } = await backend(status(200, '{"status":"degraded"}'));
    const bySubstring = checker({ type: 'http', clock: new ManualClock(), expectedBody: 'degraded' });
    const byPattern = checker({
      type: 'http',
      clock: new ManualClock(),
      expectedBody: /"status":"up"/,
      unhealthyThreshold: 1,
    });
    const unhealthy = record(byPattern, 'unhealthy');
    bySubstring.update([instance]);
    byPattern.update([instance]);
    await Promise.all([bySubstring.checkNow(), byPattern.checkNow()]);
    expect(bySubstring.state(instance.id)).toBe('healthy');
    expect(byPattern.state(instance.id)).toBe('unhealthy');
    expect(unhealthy[0]!.error).toMatchObject({ failure: 'body', statusCode: 200 });
  });

  it('a global RegExp gives the same verdict on every probe', async () => {
    const { instance } = await backend(status(200, '{"status":"up"}'));
    const hc = checker({
      type: 'http',
      clock: new ManualClock(),
      expectedBody: /up/g,
      unhealthyThreshold: 1,
    });
    const checked = record(hc, 'checked');
    hc.update([instance]);
    for (let i = 0; i < 3; i++) await hc.checkNow();
    expect(checked.map((e) => e.error?.failure)).toEqual([undefined, undefined, undefined]);
  });

  it('accepts the statuses listed in expectedStatus and uses the configured path', async () => {
    const paths: string[] = [];
    const probes: (string | undefined)[] = [];
    const { instance } = await backend((req, res) => {
      paths.push(req.url ?? '');
      probes.push(req.headers['x-probe'] as string | undefined);
      res.statusCode = 418;
      res.end();
    });
    const teapot = checker({
      type: 'http',
      clock: new ManualClock(),
      path: '/ready',
      expectedStatus: [200, 418],
      headers: { 'x-probe': 'yes' },
    });
    const strict = checker({ type: 'http', clock: new ManualClock(), unhealthyThreshold: 1 });
    teapot.update([instance]);
    strict.update([instance]);
    await Promise.all([teapot.checkNow(), strict.checkNow()]);
    expect(teapot.state(instance.id)).toBe('healthy');
    expect(strict.state(instance.id)).toBe('unhealthy');
    expect(paths.sort()).toEqual(['/health', '/ready']);
    expect(probes.sort()).toEqual(['yes', undefined]);
  });

  it('a refused connection counts as a network failure', async () => {
    const port = await closedPort();
    const hc = checker({ type: 'http', clock: new ManualClock(), unhealthyThreshold: 1 });
    const unhealthy = record(hc, 'unhealthy');
    hc.update([{ id: 'gone', service: 'api', host: '127.0.0.1', port }]);
    await hc.checkNow('gone');
    expect(hc.state('gone')).toBe('unhealthy');
    expect(unhealthy[0]!.error).toMatchObject({ failure: 'network', instanceId: 'gone', service: 'api' });
  });

  it('joins a check already running instead of sending a second probe', async () => {
    const { state, instance } = await backend();
    const hc = checker({ type: 'http', clock: new ManualClock() });
    hc.update([instance]);
    await Promise.all([hc.checkNow(instance.id), hc.checkNow(instance.id), hc.checkNow()]);
    expect(state.requests).toBe(1);
  });
});

describe('ActiveHealthChecker over TCP', () => {
  it('is healthy when the port accepts, unhealthy when it refuses', async () => {
    const server = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const open = (server.address() as { port: number }).port;
    const closed = await closedPort();
    const hc = checker({ type: 'tcp', clock: new ManualClock(), unhealthyThreshold: 1 });
    const unhealthy = record(hc, 'unhealthy');
    hc.update([
      { id: 'open', service: 'db', host: '127.0.0.1', port: open },
      { id: 'closed', service: 'db', host: '127.0.0.1', port: closed },
    ]);
    await hc.checkNow();
    expect(hc.state('open')).toBe('healthy');
    expect(hc.state('closed')).toBe('unhealthy');
    expect(unhealthy.map((e) => e.instanceId)).toEqual(['closed']);
    expect(unhealthy[0]!.error.message).toMatch(/ECONNREFUSED/);
  });
});

describe('ActiveHealthChecker lifecycle', () => {
  const a: ServiceInstance = { id: 'a', service: 'api', host: '127.0.0.1', port: 1 };
  const b: ServiceInstance = { id: 'b', service: 'api', host: '127.0.0.1', port: 2 };

  it('routes unknown instances unless initialState is unroutable', () => {
    const open = checker({ type: 'tcp', clock: new ManualClock() });
    const closed = checker({ type: 'tcp', clock: new ManualClock(), initialState: 'unroutable' });
    open.update([a]);
    closed.update([a]);
    expect([open.isRoutable('a'), open.isRoutable('never-seen')]).toEqual([true, true]);
    expect([closed.isRoutable('a'), closed.isRoutable('never-seen')]).toEqual([false, false]);
  });

  it('stops checking removed instances and leaves no timer behind', async () => {
    const clock = new ManualClock();
    const hc = checker({ type: 'tcp', clock });
    hc.update([a, b]);
    expect(clock.pendingTimers).toBe(2);
    hc.update([b]);
    expect(clock.pendingTimers).toBe(1);
    await expect(hc.checkNow('a')).rejects.toThrow(ValidationError);
    hc.update([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('aborts a probe in flight when its instance is removed, and reports nothing about it', async () => {
    const { state, instance } = await backend(hang);
    const clock = new ManualClock();
    const hc = checker({ type: 'http', clock, unhealthyThreshold: 1 });
    const checked = record(hc, 'checked');
    hc.update([instance]);
    const done = hc.checkNow(instance.id);
    await vi.waitFor(() => expect(state.requests).toBe(1), { timeout: 10_000 });
    hc.update([]);
    await done;
    expect(checked).toHaveLength(0);
    expect(hc.state(instance.id)).toBe('unknown');
    expect(clock.pendingTimers).toBe(0);
  });

  it('starts over as unknown when an instance moves to another port', async () => {
    const { instance } = await backend();
    const hc = checker({ type: 'http', clock: new ManualClock() });
    hc.update([instance]);
    await hc.checkNow();
    expect(hc.state(instance.id)).toBe('healthy');
    hc.update([{ ...instance, weight: 3 }]); // same endpoint: state kept
    expect(hc.state(instance.id)).toBe('healthy');
    hc.update([{ ...instance, port: instance.port === 65535 ? 65534 : instance.port + 1 }]);
    expect(hc.state(instance.id)).toBe('unknown');
  });

  it('close() aborts probes, clears timers, closes its Agent and ignores later calls', async () => {
    const { state, instance, server } = await backend(hang);
    const clock = new ManualClock();
    const hc = new ActiveHealthChecker({ type: 'http', clock });
    hc.update([instance]);
    const done = hc.checkNow(instance.id);
    await vi.waitFor(() => expect(state.requests).toBe(1), { timeout: 10_000 });
    await hc.close();
    await done;
    expect(clock.pendingTimers).toBe(0);
    await vi.waitFor(
      async () => {
        const open = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
        expect(open).toBe(0);
      },
      { timeout: 10_000 },
    );
    hc.update([instance]);
    await hc.checkNow();
    expect(clock.pendingTimers).toBe(0);
    expect(state.requests).toBe(1);
    await hc.close(); // idempotent
  });

  it('checkNow stops waiting when its signal aborts', async () => {
    const { state, instance } = await backend(hang);
    const hc = checker({ type: 'http', clock: new ManualClock() });
    hc.update([instance]);
    const controller = new AbortController();
    const waiting = hc.checkNow(instance.id, { signal: controller.signal });
    await vi.waitFor(() => expect(state.requests).toBe(1), { timeout: 10_000 });
    controller.abort(new Error('caller gave up'));
    await expect(waiting).rejects.toThrow('caller gave up');
    await expect(
      hc.checkNow(instance.id, { signal: AbortSignal.abort(new Error('already')) }),
    ).rejects.toThrow('already');
  });
});

describe('ActiveHealthChecker bad input', () => {
  it.each([
    ['no type', {}, 'healthCheck.type'],
    ["type 'udp'", { type: 'udp' }, 'healthCheck.type'],
    ['path without a leading slash', { type: 'http', path: 'health' }, 'healthCheck.path'],
    ['intervalMs 0', { type: 'http', intervalMs: 0 }, 'healthCheck.intervalMs'],
    ['timeoutMs NaN', { type: 'http', timeoutMs: Number.NaN }, 'healthCheck.timeoutMs'],
    ['healthyThreshold 0', { type: 'http', healthyThreshold: 0 }, 'healthCheck.healthyThreshold'],
    ['unhealthyThreshold 1.5', { type: 'http', unhealthyThreshold: 1.5 }, 'healthCheck.unhealthyThreshold'],
    ['jitter 2', { type: 'http', jitter: 2 }, 'healthCheck.jitter'],
    ['expectedStatus 99', { type: 'http', expectedStatus: 99 }, 'healthCheck.expectedStatus'],
    ['expectedStatus []', { type: 'http', expectedStatus: [] }, 'healthCheck.expectedStatus'],
    ['expectedBody 42', { type: 'http', expectedBody: 42 }, 'healthCheck.expectedBody'],
    [
      'a header that is not a string',
      { type: 'http', headers: { 'x-token': 42 } },
      'healthCheck.headers.x-token',
    ],
    ["initialState 'maybe'", { type: 'http', initialState: 'maybe' }, 'healthCheck.initialState'],
  ])('rejects %s with a ValidationError naming the option', (_what, options, field) => {
    const attempt = () => new ActiveHealthChecker(options as never);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(expect.objectContaining({ field }));
  });

  it('rejects a bad instance list as a whole and keeps the instances it had', async () => {
    const clock = new ManualClock();
    const hc = checker({ type: 'tcp', clock });
    const good: ServiceInstance = { id: 'a', service: 'api', host: '127.0.0.1', port: 1 };
    hc.update([good]);
    // Tried: a non-array, an instance with port 0, and two instances sharing an id.
    expect(() => hc.update('a' as never)).toThrow(expect.objectContaining({ field: 'instances' }));
    expect(() => hc.update([good, { ...good, id: 'b', port: 0 }])).toThrow(
      expect.objectContaining({ field: 'instances[1].port' }),
    );
    expect(() =>
      hc.update([
        { ...good, id: 'c' },
        { ...good, id: 'c' },
      ]),
    ).toThrow(expect.objectContaining({ field: 'instances[1].id' }));
    expect(clock.pendingTimers).toBe(1); // still checking 'a', nothing of 'b' or 'c' started
    await expect(hc.checkNow('c')).rejects.toThrow(ValidationError);
  });
});
