/**
 * Push-pull flood: one TCP frame carrying `MEMBERS` made-up alive members, sent to a node that
 * has one honest peer. Prints how long the node's event loop was blocked (the longest delay
 * seen by `monitorEventLoopDelay`), how long the answer took, and how many made-up members the
 * node and its peer took in. Bounded: the peer is watched for `SECONDS` after the answer.
 *
 *   npx tsx test/bench/membership/push-pull-flood.ts [members=20000] [seconds=5] [maxNewMembersPerMerge]
 *
 * A large `maxNewMembersPerMerge` (and `maxMembers`) shows the merge itself, uncapped.
 */
import { connect } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { formatAddress, type MemberRecord, Membership } from '@switchyard/membership';
import { FrameReader, frame } from '../../../packages/membership/src/lib/frame-reader.ts';
import { encodeState } from '../../../packages/membership/src/lib/state-sync.ts';

const MEMBERS = Number(process.argv[2] ?? 20_000);
const SECONDS = Number(process.argv[3] ?? 5);
const CAP =
  process.argv[4] === undefined
    ? {}
    : { maxNewMembersPerMerge: Number(process.argv[4]), maxMembers: 1_000_000 };

function fakeMembers(n: number): MemberRecord[] {
  const out: MemberRecord[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      id: `fake-${i}`,
      host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 7946,
      incarnation: 0,
      state: 'alive',
      metadata: {},
    });
  }
  return out;
}

/** Sends one frame and resolves when the answer frame (or the close) arrives. */
function send(port: number, payload: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(frame(payload)));
    const reader = new FrameReader(64 * 1024 * 1024);
    socket.on('data', (chunk) => {
      if (reader.push(chunk)) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

export async function main(): Promise<void> {
  const opts = { bindHost: '127.0.0.1', pushPullIntervalMs: 1_000, probeIntervalMs: 1_000, ...CAP };
  const target = await Membership.create({ name: 'target', ...opts });
  const peer = await Membership.create({ name: 'peer', ...opts });
  await peer.join([formatAddress(target.address)]);
  const payload = encodeState('mallory', fakeMembers(MEMBERS), false, { label: '' });
  const fakes = (node: Membership) => node.members().filter((m) => m.id.startsWith('fake-')).length;

  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const t0 = performance.now();
  await send(target.address.port, payload);
  const answerMs = performance.now() - t0;
  const atTarget = fakes(target);
  await delay(SECONDS * 1_000);
  histogram.disable();
  const atPeer = fakes(peer);
  await Promise.all([target.close(), peer.close()]);

  console.log(
    `Push-pull flood: one frame of ${MEMBERS} made-up members (${(payload.length / 1e6).toFixed(2)} MB)`,
  );
  console.log(
    `| answer after | longest event-loop stall | made-up members at target | at its peer ${SECONDS} s later |`,
  );
  console.log('|---|---|---|---|');
  console.log(
    `| ${Math.round(answerMs)} ms | ${Math.round(histogram.max / 1e6)} ms | ${atTarget} | ${atPeer} |`,
  );
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
