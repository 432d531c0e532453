import { ValidationError } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { MembershipJoinError } from './errors.ts';
import type { Membership } from './membership.ts';
import type { MembershipEvents } from './membership-events.ts';
import { SimulatedCluster } from './simulated-cluster.ts';
import { formatAddress } from './transport.ts';

const PERIOD = 100;
const node = {
  probeIntervalMs: PERIOD,
  probeTimeoutMs: 40,
  gossipIntervalMs: 20,
  pushPullIntervalMs: 3_000,
  reapDelayMs: 5_000,
};

let sim: SimulatedCluster | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** Records every event of `kind` on `nodes` as "observer:subject". */
function record(nodes: readonly Membership[], kind: keyof MembershipEvents): string[] {
  const seen: string[] = [];
  for (const n of nodes) {
    n.on(kind, (event) => {
      if ('member' in event) seen.push(`${n.localMember().id}:${event.member.id}`);
    });
  }
  return seen;
}

describe('Membership on a simulated network', () => {
  it('a 10-node cluster converges within a few protocol periods of joining', async () => {
    sim = await SimulatedCluster.start({ size: 10, seed: 1, node });
    const took = await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    expect(took).toBeDefined();
    expect(took!).toBeLessThanOrEqual(10 * PERIOD);
    for (const n of sim.nodes) expect(n.members().map((m) => m.id)).toHaveLength(10);
  });

  it('marks a node that vanished without leaving as failed on every other node, then reaps it', async () => {
    sim = await SimulatedCluster.start({ size: 8, seed: 2, node });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const others = sim.nodes.slice(0, 7);
    const failed = record(others, 'failed');
    const left = record(others, 'left');
    await sim.nodes[7]!.close();
    const took = await sim.runUntil(() => failed.length === 7, 200 * PERIOD);
    expect(took).toBeDefined();
    expect(new Set(failed)).toEqual(new Set(others.map((n) => `${n.localMember().id}:node-7`)));
    expect(left).toEqual([]);
    for (const n of others) expect(n.member('node-7')?.state).toBe('dead');
    await sim.run(node.reapDelayMs + PERIOD);
    for (const n of others) expect(n.member('node-7')).toBeUndefined();
  });

  it('a paused node that comes back refutes the suspicion with a higher incarnation', async () => {
    // Suspicion lasts 30 periods at least: the pause (until the first suspicion) is far shorter.
    sim = await SimulatedCluster.start({ size: 5, seed: 3, node: { ...node, suspicionMult: 30 } });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const paused = sim.nodes[4]!;
    const others = sim.nodes.slice(0, 4);
    const suspected = record(others, 'suspect');
    const recovered = record(others, 'recovered');
    const failed = record(others, 'failed');
    const before = paused.localMember().incarnation;
    sim.pause(paused);
    expect(await sim.runUntil(() => suspected.length > 0, 50 * PERIOD)).toBeDefined();
    sim.pause(paused, false);
    expect(await sim.runUntil(() => sim!.converged(), 100 * PERIOD)).toBeDefined();
    expect(paused.localMember().incarnation).toBeGreaterThan(before);
    expect(recovered.length).toBeGreaterThan(0);
    expect(failed).toEqual([]);
    for (const n of others) expect(n.member('node-4')).toMatchObject({ state: 'alive' });
  });

  it('sees a graceful leave as left, never as failed', async () => {
    sim = await SimulatedCluster.start({ size: 6, seed: 4, node });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const leaver = sim.nodes[5]!;
    const others = sim.nodes.slice(0, 5);
    const left = record(others, 'left');
    const failed = record(others, 'failed');
    await sim.settle(leaver.leave());
    await leaver.close();
    expect(await sim.runUntil(() => left.length === 5, 20 * PERIOD)).toBeDefined();
    for (const n of others) {
      expect(n.member('node-5')?.state).toBe('left');
      expect(n.members()).toHaveLength(5);
    }
    // Long after, still no one took the silence of the leaver for a failure.
    await sim.run(100 * PERIOD);
    expect(failed).toEqual([]);
    for (const n of others) expect(n.member('node-5')).toBeUndefined();
  });

  it('spreads metadata updates as updated events with the new metadata', async () => {
    sim = await SimulatedCluster.start({ size: 4, seed: 5, node });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const updated = record(sim.nodes, 'updated');
    sim.nodes[0]!.updateMetadata({ role: 'leader' });
    expect(await sim.runUntil(() => updated.length === 4, 20 * PERIOD)).toBeDefined();
    for (const n of sim.nodes) expect(n.member('node-0')?.metadata).toEqual({ role: 'leader' });
    // Tried: metadata that is not a string map.
    expect(() => sim!.nodes[0]!.updateMetadata({ n: 1 } as never)).toThrow(ValidationError);
  });

  it('joins through a live seed when another seed is down, and fails typed when none is up', async () => {
    sim = await SimulatedCluster.start({ size: 2, seed: 6, node });
    const dead = await sim.add('gone');
    const deadSeed = formatAddress(dead.address);
    await dead.close();
    const newcomer = await sim.add('newcomer');
    const reached = await sim.settle(newcomer.join([deadSeed, formatAddress(sim.nodes[0]!.address)]));
    expect(reached).toBe(1);
    expect(
      await sim.runUntil(() => sim!.nodes[1]!.member('newcomer') !== undefined, 20 * PERIOD),
    ).toBeDefined();

    const loner = await sim.add('loner');
    const error = await sim.settle(loner.join([deadSeed])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MembershipJoinError);
    expect((error as MembershipJoinError).causes.has(deadSeed)).toBe(true);
    // Tried: a seed without a port, and seeds that are not an array.
    await expect(loner.join(['localhost'])).rejects.toThrow(ValidationError);
    await expect(loner.join('127.0.0.1:7946' as never)).rejects.toThrow(/seeds/);
    // Its own address is not a seed to reach: nothing to join, nothing failed.
    expect(await loner.join([formatAddress(loner.address)])).toBe(0);
  });

  it('a node restarted under the same name rejoins over its old dead record', async () => {
    sim = await SimulatedCluster.start({ size: 4, seed: 7, node });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const observers = sim.nodes.slice(0, 3);
    await sim.nodes[3]!.close();
    await sim.runUntil(() => observers.every((n) => n.member('node-3')?.state === 'dead'), 200 * PERIOD);
    const restarted = await sim.add('node-3');
    await sim.settle(restarted.join([formatAddress(observers[0]!.address)]));
    const took = await sim.runUntil(
      () => observers.every((n) => n.member('node-3')?.state === 'alive'),
      50 * PERIOD,
    );
    expect(took).toBeDefined();
    expect(restarted.localMember().incarnation).toBeGreaterThan(0);
  });

  it('a restarted node beats its old incarnation even past maxIncarnationJump, through its own join', async () => {
    const options = { ...node, maxIncarnationJump: 5, reapDelayMs: 600_000 };
    sim = await SimulatedCluster.start({ size: 4, seed: 9, node: options });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const observers = sim.nodes.slice(0, 3);
    const old = sim.nodes[3]!;
    // Twelve metadata changes, each gossiped before the next: every step is within the limit.
    for (let i = 1; i <= 12; i++) {
      old.updateMetadata({ v: String(i) });
      await sim.runUntil(() => observers.every((n) => n.member('node-3')?.incarnation === i), 50 * PERIOD);
    }
    await old.close();
    await sim.runUntil(() => observers.every((n) => n.member('node-3')?.state === 'dead'), 200 * PERIOD);
    const restarted = await sim.add('node-3', options);
    await sim.settle(restarted.join([formatAddress(observers[0]!.address)]));
    const took = await sim.runUntil(
      () => observers.every((n) => n.member('node-3')?.state === 'alive'),
      50 * PERIOD,
    );
    expect(took).toBeDefined();
    expect(restarted.localMember().incarnation).toBe(13);
  });

  it('stays free of false failures under 10% packet loss (Lifeguard on)', async () => {
    sim = await SimulatedCluster.start({ size: 10, seed: 8, node });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const failed = record(sim.nodes, 'failed');
    sim.network.lossRate = 0.1;
    await sim.run(200 * PERIOD);
    expect(failed).toEqual([]);
    expect(sim.network.counters.lost).toBeGreaterThan(0);
  });

  it('a slow node raises its local health score and stops accusing healthy members (Lifeguard)', async () => {
    sim = await SimulatedCluster.start({ size: 8, seed: 13, node: { ...node, suspicionMult: 6 } });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const slow = sim.nodes[0]!;
    const healthy = sim.nodes.slice(1);
    const failedHealthy: string[] = [];
    for (const n of sim.nodes) {
      n.on('failed', ({ member }) => {
        if (member.id !== slow.localMember().id) failedHealthy.push(member.id);
      });
    }
    sim.slow(slow, 60); // its round trips (~122 ms) now exceed the whole 100 ms period
    // Its indirect probers see the targets answer and send no nack: the slow node blames itself.
    expect(await sim.runUntil(() => slow.localHealth() > 0, 20 * PERIOD)).toBeDefined();
    let healthyMax = 0;
    let slowMax = 0;
    await sim.runUntil(() => {
      for (const n of healthy) healthyMax = Math.max(healthyMax, n.localHealth());
      slowMax = Math.max(slowMax, slow.localHealth());
      return false;
    }, 100 * PERIOD);
    // Healthy members get nacks when they probe the slow one, so they do not blame themselves;
    // at most a refutation of the slow node's false suspicion costs them a point.
    expect(slowMax).toBeGreaterThanOrEqual(2);
    expect(healthyMax).toBeLessThanOrEqual(1);
    expect(failedHealthy).toEqual([]);
  });

  it('drops and counts malformed and foreign packets without changing its view', async () => {
    sim = await SimulatedCluster.start({ size: 2, seed: 9, node });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    const target = sim.nodes[0]!;
    const dropped: string[] = [];
    target.on('dropped', ({ reason }) => dropped.push(reason));
    const attacker = sim.network.createTransport();
    attacker.listen(
      () => {},
      async () => undefined,
    );
    attacker.sendPacket(target.address, Uint8Array.from([1, 0, 0, 1, 5, 0])); // truncated alive
    attacker.sendPacket(target.address, Uint8Array.from([7, 7, 7])); // unknown version
    attacker.sendPacket(target.address, Uint8Array.from([1, 0, 3, 0x61, 0x62, 0x63, 1, 3, 0, 4, 0, 0, 0, 1])); // label "abc"
    attacker.sendPacket(target.address, new Uint8Array(2000)); // over maxPacketBytes
    await sim.run(PERIOD);
    expect(dropped.sort()).toEqual(['label', 'oversize', 'truncated', 'version']);
    expect(target.stats().dropped).toMatchObject({ label: 1, oversize: 1, truncated: 1, version: 1 });
    expect(target.members()).toHaveLength(2);
    await attacker.close();
  });

  it('gossips the advertised address, and refuses to join again after leaving', async () => {
    sim = await SimulatedCluster.start({ size: 1, seed: 12, node });
    const nat = await sim.add('behind-nat', { advertiseHost: '203.0.113.9' });
    await sim.settle(nat.join([formatAddress(sim.nodes[0]!.address)]));
    expect(sim.nodes[0]!.member('behind-nat')?.host).toBe('203.0.113.9');
    await sim.settle(nat.leave());
    await expect(nat.join([formatAddress(sim.nodes[0]!.address)])).rejects.toThrow(/after leave/);
    expect(() => nat.updateMetadata({})).toThrow(/after leave/);
  });

  it('close() stops every timer it started', async () => {
    sim = await SimulatedCluster.start({ size: 3, seed: 10, node });
    await sim.runUntil(() => sim!.converged(), 20 * PERIOD);
    await sim.close();
    await sim.run(10); // lets in-flight simulated packets land on closed endpoints
    expect(sim.clock.pendingTimers).toBe(0);
    await expect(sim.nodes[0]!.join(['127.0.0.1:1'])).rejects.toThrow(/closed/);
  });

  it('counts traffic in stats()', async () => {
    sim = await SimulatedCluster.start({ size: 3, seed: 11, node });
    await sim.run(20 * PERIOD);
    const stats = sim.nodes[1]!.stats();
    expect(stats.packetsSent).toBeGreaterThan(0);
    expect(stats.messagesSent).toBeGreaterThanOrEqual(stats.packetsSent);
    expect(stats.bytesReceived).toBeGreaterThan(0);
    expect(stats.streamsOpened).toBeGreaterThanOrEqual(1);
  });
});
