import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MembershipDecodeError } from './errors.ts';
import { frame } from './frame-reader.ts';
import { createNetTransport } from './net-transport.ts';
import type { Transport } from './transport.ts';

const open: Transport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
async function transport(options: Parameters<typeof createNetTransport>[0] = {}): Promise<Transport> {
  const t = await createNetTransport({ host: '127.0.0.1', port: 0, ...options });
  open.push(t);
  return t;
}

describe('createNetTransport (real sockets on 127.0.0.1)', () => {
  it('carries datagrams and request/response frames on one port', async () => {
    const a = await transport();
    const b = await transport();
    const packets: string[] = [];
    b.listen(
      (data, from) => packets.push(`${Buffer.from(data).toString()} from ${from.port}`),
      async (data) => Buffer.from(`echo ${Buffer.from(data).toString()}`),
    );
    a.listen(
      () => {},
      async () => undefined,
    );
    expect(a.sendPacket(b.address, Buffer.from('hi'))).toBe(true);
    await vi.waitFor(() => expect(packets).toEqual([`hi from ${a.address.port}`]), { timeout: 5_000 });
    const answer = await a.request(b.address, Buffer.from('state'), { timeoutMs: 5_000 });
    expect(Buffer.from(answer).toString()).toBe('echo state');
  });

  it('rejects a request to a closed port, and one that gets no answer in time', async () => {
    const a = await transport();
    const gone = await transport();
    const goneAddress = gone.address;
    await gone.close();
    await expect(a.request(goneAddress, Buffer.from('x'), { timeoutMs: 5_000 })).rejects.toThrow();

    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      await expect(
        a.request({ host: '127.0.0.1', port }, Buffer.from('x'), { timeoutMs: 200 }),
      ).rejects.toThrow(/within 200 ms/);
      const controller = new AbortController();
      const pending = a.request({ host: '127.0.0.1', port }, Buffer.from('x'), {
        timeoutMs: 60_000,
        signal: controller.signal,
      });
      controller.abort();
      await expect(pending).rejects.toThrow(/abort/i);
    } finally {
      silent.close();
    }
  });

  it('drops oversize datagrams and frames, counting them through onDrop', async () => {
    const drops: string[] = [];
    const t = await transport({
      maxPacketBytes: 100,
      maxFrameBytes: 100,
      onDrop: (error: MembershipDecodeError) => drops.push(error.reason),
    });
    let streams = 0;
    t.listen(
      () => {},
      async () => {
        streams++;
        return undefined;
      },
    );
    const udp = createSocket('udp4');
    udp.send(Buffer.alloc(500), t.address.port, '127.0.0.1');
    // Tried: a frame that declares 1 MiB against a 100-byte limit.
    const socket = connect(t.address.port, '127.0.0.1');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1024 * 1024);
    socket.write(header);
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('error', () => {});
    await vi.waitFor(() => expect(drops.sort()).toEqual(['oversize', 'oversize']), { timeout: 5_000 });
    await closed;
    udp.close();
    expect(streams).toBe(0);
  });

  it('answers a well-formed frame sent in pieces', async () => {
    const t = await transport();
    t.listen(
      () => {},
      async (data) => data,
    );
    const socket = connect(t.address.port, '127.0.0.1');
    const framed = Buffer.from(frame(Buffer.from('split frame')));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    const done = new Promise((resolve) => socket.on('close', resolve));
    socket.write(framed.subarray(0, 3));
    setTimeout(() => socket.write(framed.subarray(3)), 20);
    await done;
    expect(Buffer.concat(chunks).subarray(4).toString()).toBe('split frame');
  });
});

/** A client that declares a frame of `declared` bytes, sends `sent` of them and stalls. */
function stalledStream(port: number, declared = 1_000, sent = 10): { closed: Promise<void>; end(): void } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const header = Buffer.alloc(4);
  header.writeUInt32BE(declared);
  socket.write(Buffer.concat([header, Buffer.alloc(sent)]));
  return {
    closed: new Promise((resolve) => socket.on('close', () => resolve())),
    end: () => socket.destroy(),
  };
}

/** Sends one whole frame; resolves with the answer's text ('' when closed without one). */
function exchange(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  socket.write(frame(Buffer.from(text)));
  return new Promise((resolve) =>
    socket.on('close', () => resolve(Buffer.concat(chunks).subarray(4).toString())),
  );
}

describe('incoming stream limits (a flood of unauthenticated frames)', () => {
  it('closes a stream that goes silent mid-frame after streamIdleTimeoutMs', async () => {
    const t = await transport({ streamTimeoutMs: 600_000, streamIdleTimeoutMs: 300 });
    t.listen(
      () => {},
      async (data) => data,
    );
    const stalled = stalledStream(t.address.port);
    await stalled.closed; // would hang for the whole 10-minute deadline without the idle limit
  });

  it('reads at most maxInboundStreams frames at once; the next waits for a free slot', async () => {
    const t = await transport({
      maxInboundStreams: 2,
      streamTimeoutMs: 600_000,
      streamIdleTimeoutMs: 600_000,
    });
    const served: string[] = [];
    t.listen(
      () => {},
      async (data) => {
        served.push(Buffer.from(data).toString());
        return data;
      },
    );
    const first = stalledStream(t.address.port);
    const second = stalledStream(t.address.port);
    const waiting = exchange(t.address.port, 'legit');
    // Give the third connection every chance to be read; both slots are held, so it must not be.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(served).toEqual([]);
    first.end();
    expect(await waiting).toBe('legit');
    second.end();
  });

  it('closes connections beyond 4 × maxInboundStreams waiting ones at once, reported as busy', async () => {
    const drops: string[] = [];
    const t = await transport({
      maxInboundStreams: 1,
      streamTimeoutMs: 600_000,
      streamIdleTimeoutMs: 600_000,
      onDrop: (error: MembershipDecodeError) => drops.push(error.reason),
    });
    t.listen(
      () => {},
      async (data) => data,
    );
    const held = Array.from({ length: 5 }, () => stalledStream(t.address.port)); // 1 read + 4 waiting
    await vi.waitFor(() => expect(drops).toEqual([]), { timeout: 1_000 });
    const refused = stalledStream(t.address.port);
    await refused.closed;
    expect(drops).toEqual(['busy']);
    for (const stream of held) stream.end();
    // Slots free again once the server has noticed those closes: a legitimate exchange goes through.
    await vi.waitFor(async () => expect(await exchange(t.address.port, 'after')).toBe('after'), {
      timeout: 10_000,
      interval: 100,
    });
  });
});
