/**
 * TCP stream flood against one membership node: `STREAMS` connections each declare a frame of
 * 4 MiB − 1 bytes and send all but its last byte, so that nothing ever completes. Prints the
 * target's resident memory (VmRSS, and the peak VmHWM) before and during the flood. Linux only
 * (reads /proc). Bounded: the flood lasts `SECONDS`, then every socket is closed.
 *
 *   npx tsx test/bench/membership/stream-flood.ts [streams=200] [seconds=15]
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const STREAMS = Number(process.argv[2] ?? 200);
const SECONDS = Number(process.argv[3] ?? 15);
const FRAME = 4 * 1024 * 1024 - 1;
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

function memory(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

/** Writes the header and FRAME − 1 bytes of body, respecting backpressure; never the last byte. */
async function flood(port: number, stats: { closedByTarget: number; bytes: number }): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.on('close', () => {
    if (!socket.destroyed || !stopping) stats.closedByTarget++;
  });
  await new Promise<void>((resolve) => socket.once('connect', resolve).once('error', resolve));
  void (async () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(FRAME, 0);
    socket.write(header);
    let left = FRAME - 1;
    while (left > 0 && !socket.destroyed && !stopping) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= piece.length;
      stats.bytes += piece.length;
      if (!socket.write(piece)) {
        await new Promise<void>((resolve) => {
          socket.once('drain', resolve);
          socket.once('close', resolve);
        });
      }
    }
  })();
  return socket;
}

let stopping = false;

export async function main(): Promise<void> {
  const target = fork(fileURLToPath(new URL('./flood-target.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) =>
    target.once('message', (m) => resolve((m as { port: number }).port)),
  );
  await delay(1_000);
  const before = memory(target.pid!);
  const stats = { closedByTarget: 0, bytes: 0 };
  const sockets: Socket[] = [];
  for (let i = 0; i < STREAMS; i++) sockets.push(await flood(port, stats));
  let peakRss = before.rssMb;
  const until = Date.now() + SECONDS * 1_000;
  while (Date.now() < until) {
    await delay(250);
    peakRss = Math.max(peakRss, memory(target.pid!).rssMb);
  }
  const during = memory(target.pid!);
  stopping = true;
  for (const socket of sockets) socket.destroy();
  target.disconnect();
  await new Promise((resolve) => target.once('exit', resolve));
  console.log(
    `TCP stream flood: ${STREAMS} streams × ${FRAME} bytes declared, ${SECONDS} s, ` +
      `${Math.round(stats.bytes / 2 ** 20)} MiB sent`,
  );
  console.log(
    '| target RSS before | max RSS during flood | RSS at end | peak (VmHWM) | streams closed by target |',
  );
  console.log('|---|---|---|---|---|');
  console.log(
    `| ${before.rssMb} MB | ${peakRss} MB | ${during.rssMb} MB | ${during.peakMb} MB | ${stats.closedByTarget} |`,
  );
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
