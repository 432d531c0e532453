/**
 * The fetch interceptor's own work per request, without sockets or fetch around it: the
 * interceptor composed onto a dispatch that answers every request at once (on the next turn,
 * 64 in flight), against a pass-through interceptor on the same dispatch. What is left is
 * Switchyard's routing, executor and bookkeeping, resolved to tens of nanoseconds, where a
 * whole fetch over loopback (≈ 130 µs here) only resolves a few percent.
 *
 *   pnpm bench interceptor-cost
 *   node .bench-dist/call-path/interceptor-cost.js [rounds=31] [requests per round=20000]
 */
import { pathToFileURL } from 'node:url';
import { roundRobin } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { switchyard } from '@switchyard/fetch';
import { StaticRegistry } from '@switchyard/registry';
import type { Dispatcher } from 'undici';
import { BenchReport, fmt, markdownTable } from '../harness/report.ts';
import { interleavedRounds, median, middleHalf } from '../harness/stats.ts';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

const INFLIGHT = 64;
const WARM_UP_ROUNDS = 4;

const controller: Controller = {
  abort() {},
  pause() {},
  resume() {},
  aborted: false,
  paused: false,
  reason: null,
  rawHeaders: [],
  rawTrailers: [],
};
const chunk = Buffer.from('{"from":"b1"}');
const answerHeaders = { 'content-type': 'application/json', 'content-length': String(chunk.length) };

/** A dispatch that answers every request it was given on the next turn: a 200 with a small body. */
function answeringDispatch(): Dispatcher.Dispatch {
  let pending: Handler[] = [];
  const flush = () => {
    const handlers = pending;
    pending = [];
    for (const handler of handlers) {
      handler.onRequestStart?.(controller, {});
      handler.onResponseStart?.(controller, 200, answerHeaders, 'OK');
      handler.onResponseData?.(controller, chunk);
      handler.onResponseEnd?.(controller, {});
    }
  };
  return (_opts, handler) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(handler);
    return true;
  };
}

/** The caller's handler, as fetch's would be after compose(): it waits for the end. */
class Caller implements Handler {
  constructor(readonly done: (error?: Error) => void) {}
  onRequestStart(): void {}
  onResponseStart(): void {}
  onResponseData(): void {}
  onResponseEnd(): void {
    this.done();
  }
  onResponseError(_controller: Controller, error: Error): void {
    this.done(error);
  }
}

/**
 * Dispatch options as undici's fetch makes them (the same keys, in the same order, from one
 * object literal): V8 copies an object by its shape, so the shape matters to what is measured.
 */
function fetchOptions(origin: string): Dispatcher.DispatchOptions {
  const headers: Record<string, string> = {};
  headers.accept = '*/*';
  headers['accept-encoding'] = 'gzip, deflate';
  headers['user-agent'] = 'undici';
  return {
    path: '/',
    origin,
    method: 'GET',
    body: null,
    headers,
    maxRedirections: 0,
    upgrade: undefined,
  } as Dispatcher.DispatchOptions;
}

/** This process's CPU ns per request, `total` requests through `dispatch`, 64 in flight. */
async function cpuPerRequest(dispatch: Dispatcher.Dispatch, origin: string, total: number): Promise<number> {
  const one = () =>
    new Promise<void>((resolve, reject) => {
      dispatch(fetchOptions(origin), new Caller((error) => (error ? reject(error) : resolve())));
    });
  let started = 0;
  const worker = async () => {
    while (started < total) {
      started++;
      await one();
    }
  };
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) * 1000) / total;
}

export async function main(rounds = 31, perRound = 20_000): Promise<void> {
  const report = new BenchReport('interceptor-cost');
  const instances = [1, 2, 3].map((n) => ({
    id: `b${n}`,
    service: 'bench',
    host: '127.0.0.1',
    port: 9000 + n,
  }));
  const client = new ServiceDiscoveryClient({
    registry: new StaticRegistry({ bench: instances }),
    balancer: roundRobin(),
  });
  await client.getInstances('bench');
  const stub = answeringDispatch();
  const passThrough = 'a pass-through interceptor';
  const routed = 'switchyard(client)';
  const ours = switchyard(client)(stub);
  const byRound = await interleavedRounds(
    rounds,
    [
      { name: passThrough, run: () => cpuPerRequest(stub, 'http://127.0.0.1:9001', perRound) },
      { name: routed, run: () => cpuPerRequest(ours, 'http://bench', perRound) },
    ],
    WARM_UP_ROUNDS,
  );
  await client.close();
  const pass = byRound.get(passThrough)!;
  const sy = byRound.get(routed)!;
  const own = sy.map((value, round) => value - pass[round]!);
  console.log(
    `\n${perRound.toLocaleString('en-US')} requests per round, ${INFLIGHT} in flight, ${rounds} interleaved rounds after ${WARM_UP_ROUNDS} warm-up rounds; a dispatch that answers at once, no sockets.\n`,
  );
  console.log(
    markdownTable(
      ['who', 'CPU ns/req (median)', 'middle half of the rounds (p25–p75)'],
      [
        [passThrough, fmt(median(pass)), middleHalf(pass).map(fmt).join('–')],
        [routed, fmt(median(sy)), middleHalf(sy).map(fmt).join('–')],
        [
          "Switchyard's own work (the difference, same round)",
          fmt(median(own)),
          middleHalf(own).map(fmt).join('–'),
        ],
      ],
    ),
  );
  report.add({ figure: "interceptor's own CPU per request", unit: 'ns', ours: routed, oursRounds: own });
  report.finish();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [rounds, perRound] = process.argv.slice(2).map(Number);
  await main(rounds || 31, perRound || 20_000);
}
