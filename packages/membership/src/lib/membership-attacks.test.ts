import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeMessage, encodePacket, type Message } from './codec.ts';
import { frame } from './frame-reader.ts';
import type { MemberRecord } from './member-state.ts';
import { Membership } from './membership.ts';
import type { DroppedPacket, NameConflict } from './membership-events.ts';
import type { MembershipOptions } from './options.ts';
import { encodeState } from './state-sync.ts';
import { type Address, formatAddress } from './transport.ts';

// Forged packets from an outsider on 127.0.0.1, against a cluster without a keyring.
const PERIOD = 100;
const base = {
  probeIntervalMs: PERIOD,
  probeTimeoutMs: 80,
  gossipIntervalMs: 30,
  pushPullIntervalMs: 2_000,
  suspicionMult: 5,
} satisfies Partial<MembershipOptions>;
const waitOpts = { timeout: 150 * PERIOD, interval: 50 };

const nodes: Membership[] = [];
const sockets: UdpSocket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

async function cluster(
  names: readonly string[],
  options: Partial<MembershipOptions> = {},
): Promise<Membership[]> {
  const members: Membership[] = [];
  for (const name of names) {
    const node = await Membership.create({ name, ...base, ...options });
    nodes.push(node);
    members.push(node);
  }
  await Promise.all(members.slice(1).map((m) => m.join([formatAddress(members[0]!.address)])));
  const alive = (n: Membership) => n.members().filter((m) => m.state === 'alive').length;
  await vi.waitFor(() => expect(members.map(alive)).toEqual(members.map(() => members.length)), waitOpts);
  return members;
}

/** An outsider's UDP socket: sends unencrypted, unlabelled packets as any node would. */
async function attacker(): Promise<{ address: Address; send(to: Address, message: Message): void }> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: { host: '127.0.0.1', port: socket.address().port },
    send: (to, message) =>
      socket.send(encodePacket([encodeMessage(message)], { label: '' }), to.port, to.host),
  };
}

/** Lets a few protocol periods of real traffic pass. */
const periods = (n: number) => new Promise((resolve) => setTimeout(resolve, n * PERIOD));

describe('incarnation overflow: one forged packet cannot hijack or evict a member', () => {
  it('an alive for b at 0xFFFFFFFF from another address is a conflict: b keeps its address', async () => {
    const [a, b, c] = await cluster(['a', 'b', 'c']);
    const mallory = await attacker();
    const conflicts: NameConflict[] = [];
    for (const n of [a!, b!, c!]) n.on('conflict', (event) => conflicts.push(event));
    const forged = {
      id: 'b',
      host: '127.0.0.1',
      port: mallory.address.port,
      incarnation: 0xffff_ffff,
      state: 'alive',
      metadata: {},
    } as const;
    for (const n of [a!, b!, c!]) mallory.send(n.address, { type: 'alive', record: forged });
    await vi.waitFor(() => expect(conflicts.length).toBeGreaterThanOrEqual(3), waitOpts);
    await periods(10);
    for (const n of [a!, c!]) {
      expect(n.member('b')).toMatchObject({ port: b!.address.port, state: 'alive' });
    }
    // b did not try to outbid the forgery (which would wrap to 0), so its incarnation is untouched.
    expect(b!.localMember().incarnation).toBeLessThan(10);
    const seen = conflicts.find((event) => event.member.id === 'b');
    expect(seen?.member.port).toBe(b!.address.port);
    expect(seen?.other.port).toBe(mallory.address.port);
  });

  it('a dead for b at 0xFFFFFFFF is dropped as implausible: b stays alive and can still refute', async () => {
    const [a, b, c] = await cluster(['a', 'b', 'c']);
    const mallory = await attacker();
    const dropped: DroppedPacket[] = [];
    const failed: string[] = [];
    for (const n of [a!, b!, c!]) {
      n.on('dropped', (event) => dropped.push(event));
      n.on('failed', ({ member }) => failed.push(`${n.localMember().id}:${member.id}`));
    }
    const incarnation = b!.localMember().incarnation;
    for (const n of [a!, b!, c!]) {
      mallory.send(n.address, { type: 'dead', id: 'b', incarnation: 0xffff_ffff, from: 'a' });
    }
    await vi.waitFor(
      () => expect(dropped.filter((d) => d.reason === 'incarnation').length).toBeGreaterThanOrEqual(3),
      waitOpts,
    );
    expect(dropped[0]!.from).toEqual(mallory.address);
    await periods(10);
    expect(failed.filter((f) => f.endsWith(':b'))).toEqual([]);
    for (const n of [a!, c!]) expect(n.member('b')?.state).toBe('alive');
    expect(b!.localMember().incarnation).toBe(incarnation);
    expect(a!.stats().dropped.incarnation).toBeGreaterThanOrEqual(1);

    // A forgery within reach is still accepted, and b refutes it as SWIM intends.
    const near = a!.member('b')!.incarnation + 3;
    mallory.send(a!.address, { type: 'dead', id: 'b', incarnation: near, from: 'c' });
    await vi.waitFor(() => expect(a!.member('b')).toMatchObject({ state: 'alive' }), waitOpts);
    await vi.waitFor(() => expect(b!.localMember().incarnation).toBe(near + 1), waitOpts);
  });
});

/** Made-up alive members at addresses nobody listens on. */
function fakeMembers(n: number, prefix = 'fake'): MemberRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    host: `10.99.${(i >> 8) & 255}.${i & 255}`,
    port: 7946,
    incarnation: 0,
    state: 'alive' as const,
    metadata: {},
  }));
}

/** Pushes one forged push-pull frame over TCP; resolves once the node answered or closed. */
function pushState(to: Address, members: readonly MemberRecord[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(to.port, to.host, () =>
      socket.write(frame(encodeState('mallory', members, false, { label: '' }))),
    );
    socket.on('error', () => {});
    socket.on('close', () => resolve());
    socket.on('data', () => socket.destroy());
  });
}

const fakes = (n: Membership) => n.members().filter((m) => m.id.startsWith('fake-')).length;

describe('push-pull flood: one frame cannot fill every node with made-up members', () => {
  it('a push-pull adds at most maxNewMembersPerMerge new members; the rest are refused and reported', async () => {
    const [target, peer] = await cluster(['target', 'peer'], { maxNewMembersPerMerge: 50 });
    const dropped: DroppedPacket[] = [];
    target!.on('dropped', (event) => dropped.push(event));
    await pushState(target!.address, fakeMembers(2_000));
    expect(fakes(target!)).toBe(50);
    expect(dropped.map((d) => d.reason)).toEqual(['member-limit']);
    expect(dropped[0]!.error.message).toMatch(/1950 new members refused/);
    // What did get in spreads no further than that share (the peer's own merges are capped too).
    await periods(25);
    expect(fakes(peer!)).toBeLessThanOrEqual(50);
    expect(target!.member('peer')?.state).toBe('alive');
  });

  it('never holds more than maxMembers records, however many frames arrive', async () => {
    const [target] = await cluster(['target', 'peer'], { maxMembers: 30, maxNewMembersPerMerge: 20 });
    const dropped: DroppedPacket[] = [];
    target!.on('dropped', (event) => dropped.push(event));
    const frames = Array.from({ length: 5 }, (_, i) => fakeMembers(100, `fake-${i}`));
    for (const members of frames) await pushState(target!.address, members);
    // Held in any state (made-up members soon turn suspect, then dead): 30 with target and peer.
    const held = frames.flat().filter((m) => target!.member(m.id) !== undefined);
    expect(held).toHaveLength(28);
    expect(target!.stats().dropped['member-limit']).toBe(5);
    // A legitimate member already known is untouched.
    expect(target!.member('peer')?.state).toBe('alive');
  });

  it('a node joining through a seed takes the seed’s whole state, past maxNewMembersPerMerge', async () => {
    const seeds = await cluster(['s0', 's1', 's2', 's3', 's4'], { maxNewMembersPerMerge: 1 });
    const joiner = await Membership.create({ name: 'joiner', ...base, maxNewMembersPerMerge: 1 });
    nodes.push(joiner);
    await joiner.join([formatAddress(seeds[0]!.address)]);
    expect(joiner.members()).toHaveLength(6);
  });
});

describe('without a keyring: forged departures and name clashes', () => {
  it('a forged left for a live member is refuted at once, not at its next push-pull', async () => {
    // Push-pull (the old way back) is a minute away: only the refutation can bring b back in time.
    const [a, b, c] = await cluster(['a', 'b', 'c'], { pushPullIntervalMs: 60_000 });
    const mallory = await attacker();
    const left: string[] = [];
    for (const n of [a!, c!]) n.on('left', ({ member }) => left.push(`${n.localMember().id}:${member.id}`));
    const incarnation = a!.member('b')!.incarnation;
    for (const n of [a!, c!]) mallory.send(n.address, { type: 'left', id: 'b', incarnation });
    await vi.waitFor(() => expect(left.length).toBeGreaterThanOrEqual(1), waitOpts);
    await vi.waitFor(() => {
      for (const n of [a!, c!]) expect(n.member('b')).toMatchObject({ state: 'alive' });
    }, waitOpts);
    expect(b!.localMember().incarnation).toBeGreaterThan(incarnation);
  });

  it('two nodes with one name are reported as a conflict, with no incarnation war', async () => {
    const [a, b, c] = await cluster(['a', 'b', 'c']);
    const conflicts: NameConflict[] = [];
    const ports = new Map<string, number[]>();
    for (const n of [a!, c!]) {
      n.on('conflict', (event) => conflicts.push(event));
      const seen: number[] = [];
      ports.set(n.localMember().id, seen);
      for (const kind of ['updated', 'joined', 'recovered'] as const) {
        n.on(kind, ({ member }) => {
          if (member.id === 'b') seen.push(member.port);
        });
      }
    }
    const impostor = await Membership.create({ name: 'b', ...base });
    nodes.push(impostor);
    await impostor.join([formatAddress(a!.address)]);
    await vi.waitFor(() => expect(conflicts.some((e) => e.member.id === 'b')).toBe(true), waitOpts);
    await periods(30);
    const first = conflicts.find((e) => e.member.id === 'b')!;
    expect(first.member.port).toBe(b!.address.port);
    expect(first.other.port).toBe(impostor.address.port);
    // The name never moved between the two addresses, and neither side kept outbidding the other.
    expect([...ports.values()].flat()).toEqual([]);
    for (const n of [a!, c!]) expect(n.member('b')?.port).toBe(b!.address.port);
    expect(b!.localMember().incarnation).toBeLessThan(3);
    expect(impostor.localMember().incarnation).toBeLessThan(3);
  });
});
