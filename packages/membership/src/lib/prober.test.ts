import { ManualClock } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { Awareness } from './awareness.ts';
import type { Message } from './codec.ts';
import { freezeRecord, type MemberRecord } from './member-state.ts';
import { type ProbeResult, Prober } from './prober.ts';
import type { Address } from './transport.ts';

const member = (id: string, port: number): MemberRecord =>
  freezeRecord({ id, host: '127.0.0.1', port, incarnation: 0, state: 'alive', metadata: {} });
const target = member('target', 2);
const peers = [member('p1', 3), member('p2', 4), member('p3', 5)];

function setup(nacks = true) {
  const clock = new ManualClock();
  const awareness = new Awareness(8);
  const sent: { to: Address; message: Message }[] = [];
  let seq = 0;
  const prober = new Prober(
    {
      clock,
      awareness,
      nextSeq: () => ++seq,
      send: (to, message) => sent.push({ to, message }),
      indirectPeers: (_id, k) => peers.slice(0, k),
    },
    { probeTimeoutMs: 50, probeIntervalMs: 200, indirectChecks: 3, nacks },
  );
  return { clock, awareness, sent, prober };
}

describe('Prober', () => {
  it('succeeds on a direct ack and improves local health', async () => {
    const { sent, prober, awareness } = setup();
    awareness.apply(2);
    const result = prober.probe(target);
    expect(sent[0]).toMatchObject({ to: { port: 2 }, message: { type: 'ping', target: 'target' } });
    prober.onAck((sent[0]!.message as { seq: number }).seq);
    expect(await result).toBe('ack');
    expect(awareness.score).toBe(1);
    expect(prober.pending).toBe(0);
  });

  it('asks k peers after the probe timeout and accepts their relayed ack', async () => {
    const { clock, sent, prober } = setup();
    const result = prober.probe(target);
    clock.advance(50);
    const reqs = sent.filter((s) => s.message.type === 'ping-req');
    expect(reqs.map((s) => s.to.port)).toEqual([3, 4, 5]);
    expect(reqs[0]!.message).toMatchObject({ target: 'target', port: 2, wantNack: true });
    prober.onAck((reqs[0]!.message as { seq: number }).seq);
    expect(await result).toBe<ProbeResult>('indirect-ack');
  });

  it('blames the local node for missing nacks (Lifeguard), not for nacks that came', async () => {
    const silent = setup();
    const r1 = silent.prober.probe(target);
    silent.clock.advance(200);
    expect(await r1).toBe('failed');
    expect(silent.awareness.score).toBe(3); // three peers, no nack from any: we are probably the slow one

    const nacked = setup();
    const r2 = nacked.prober.probe(target);
    nacked.clock.advance(50);
    const seq = (nacked.sent[0]!.message as { seq: number }).seq;
    for (let i = 0; i < 3; i++) nacked.prober.onNack(seq);
    nacked.clock.advance(150);
    expect(await r2).toBe('failed');
    expect(nacked.awareness.score).toBe(0); // peers answered: the target is the problem
  });

  it('stretches its timeouts with the health score', async () => {
    const { clock, sent, prober, awareness } = setup();
    awareness.apply(1); // ×2
    void prober.probe(target);
    clock.advance(99);
    expect(sent.some((s) => s.message.type === 'ping-req')).toBe(false);
    clock.advance(1);
    expect(sent.some((s) => s.message.type === 'ping-req')).toBe(true);
  });

  it('without Lifeguard asks for no nacks and leaves health alone', async () => {
    const { clock, sent, prober, awareness } = setup(false);
    const result = prober.probe(target);
    clock.advance(200);
    expect(await result).toBe('failed');
    expect(sent.find((s) => s.message.type === 'ping-req')?.message).toMatchObject({ wantNack: false });
    expect(awareness.score).toBe(0);
  });

  it('relays a ping-req: ack back on success, nack on silence', () => {
    const { clock, sent, prober } = setup();
    const requester = { host: '127.0.0.1', port: 9 };
    prober.handlePingReq(
      { type: 'ping-req', seq: 77, target: 'target', host: '127.0.0.1', port: 2, wantNack: true },
      requester,
    );
    const ping = sent.at(-1)!;
    expect(ping).toMatchObject({ to: { port: 2 }, message: { type: 'ping', target: 'target' } });
    prober.onAck((ping.message as { seq: number }).seq);
    expect(sent.at(-1)).toMatchObject({ to: requester, message: { type: 'ack', seq: 77 } });

    prober.handlePingReq(
      { type: 'ping-req', seq: 78, target: 'target', host: '127.0.0.1', port: 2, wantNack: true },
      requester,
    );
    clock.advance(50);
    expect(sent.at(-1)).toMatchObject({ to: requester, message: { type: 'nack', seq: 78 } });
    expect(prober.pending).toBe(0);
  });

  it('close() cancels every timer', () => {
    const { clock, prober } = setup();
    void prober.probe(target);
    prober.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
