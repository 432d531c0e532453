import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeMessage, encodePacket, type Message } from './codec.ts';
import { Membership } from './membership.ts';
import type { DroppedPacket, NameConflict } from './membership-events.ts';
import type { MembershipOptions } from './options.ts';
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

async function cluster(names: readonly string[]): Promise<Membership[]> {
  const members: Membership[] = [];
  for (const name of names) {
    const node = await Membership.create({ name, ...base });
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
