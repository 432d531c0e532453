import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { abortReason, type Clock, systemClock } from '@switchyard/core';
import { MembershipDecodeError } from './errors.ts';
import { FrameReader, frame } from './frame-reader.ts';
import type { Address, PacketHandler, RequestOptions, StreamHandler, Transport } from './transport.ts';

export interface NetTransportOptions {
  readonly host?: string;
  /** 0 picks a free port, the same one for UDP and TCP. */
  readonly port?: number;
  /** Largest datagram accepted; bigger ones are dropped unread (default 65507). */
  readonly maxPacketBytes?: number;
  /** Largest TCP frame accepted, either way (default 4 MiB). */
  readonly maxFrameBytes?: number;
  /** How long an incoming stream may take to deliver its frame (default 10 s). */
  readonly streamTimeoutMs?: number;
  /** An incoming stream silent this long is closed (default 5 s). */
  readonly streamIdleTimeoutMs?: number;
  /**
   * Incoming streams read at once (default 8), so that at most this many frames of
   * `maxFrameBytes` are buffered. Up to 4× as many more connections wait unread (the kernel
   * holds their bytes); beyond that, new connections are closed at once (dropped as `busy`).
   */
  readonly maxInboundStreams?: number;
  readonly clock?: Clock;
  /** Told about oversize packets and broken incoming streams, which never reach the node. */
  readonly onDrop?: (error: MembershipDecodeError, from: Address) => void;
}

/**
 * The real transport: UDP (`node:dgram`) for probes and gossip, TCP (`node:net`) for join and
 * push-pull, both bound to the same host and port.
 *
 * @example
 * const transport = await createNetTransport({ host: '127.0.0.1', port: 0 });
 */
export async function createNetTransport(options: NetTransportOptions = {}): Promise<Transport> {
  const host = options.host ?? '127.0.0.1';
  // With port 0 the TCP port we get may be taken for UDP: try a few fresh ports.
  for (let attempt = 0; ; attempt++) {
    // Paused on connect: a connection is read only once it has one of the inbound stream slots.
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const udp = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      return new NetTransport({ host, port }, udp, server, options);
    } catch (error) {
      udp.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if ((options.port ?? 0) !== 0 || attempt >= 10) throw error;
    }
  }
}

class NetTransport implements Transport {
  readonly address: Address;
  readonly #udp: UdpSocket;
  readonly #server: Server;
  readonly #maxPacket: number;
  readonly #maxFrame: number;
  readonly #streamTimeoutMs: number;
  readonly #streamIdleTimeoutMs: number;
  readonly #maxInboundStreams: number;
  readonly #clock: Clock;
  readonly #onDrop: NetTransportOptions['onDrop'];
  readonly #sockets = new Set<Socket>();
  /** Incoming streams being read now. */
  #reading = 0;
  /** Accepted connections waiting for a slot, oldest first. */
  readonly #waiting = new Set<() => void>();
  #closed = false;

  constructor(address: Address, udp: UdpSocket, server: Server, options: NetTransportOptions) {
    this.address = address;
    this.#udp = udp;
    this.#server = server;
    this.#maxPacket = options.maxPacketBytes ?? 65_507;
    this.#maxFrame = options.maxFrameBytes ?? 4 * 1024 * 1024;
    this.#streamTimeoutMs = options.streamTimeoutMs ?? 10_000;
    this.#streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? 5_000;
    this.#maxInboundStreams = options.maxInboundStreams ?? 8;
    this.#clock = options.clock ?? systemClock;
    this.#onDrop = options.onDrop;
    // A send to a closed port can surface as an async socket error on some platforms: ignore it.
    udp.on('error', () => {});
  }

  listen(onPacket: PacketHandler, onStream: StreamHandler): void {
    this.#udp.on('message', (data, rinfo) => {
      const from = { host: rinfo.address, port: rinfo.port };
      if (data.length > this.#maxPacket) {
        this.#onDrop?.(new MembershipDecodeError('oversize', `datagram of ${data.length} bytes`), from);
        return;
      }
      onPacket(data, from);
    });
    this.#server.on('connection', (socket) => this.#serve(socket, onStream));
  }

  sendPacket(to: Address, data: Uint8Array): boolean {
    if (this.#closed) return false;
    try {
      this.#udp.send(data, to.port, to.host);
      return true;
    } catch {
      return false;
    }
  }

  request(to: Address, data: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.#closed) return Promise.reject(new Error('transport closed'));
    return new Promise<Uint8Array>((resolve, reject) => {
      const socket = connect({ host: to.host, port: to.port });
      this.#sockets.add(socket);
      const reader = new FrameReader(this.#maxFrame);
      let settled = false;
      const finish = (error: unknown, payload?: Uint8Array) => {
        if (settled) return;
        settled = true;
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#sockets.delete(socket);
        socket.destroy();
        if (payload) resolve(payload);
        else reject(error);
      };
      const onAbort = () => finish(abortReason(signal!));
      const timer = this.#clock.setTimeout(
        () => finish(new Error(`no answer from ${to.host}:${to.port} within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      timer.unref?.();
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.on('connect', () => socket.write(frame(data)));
      socket.on('data', (chunk) => {
        try {
          const payload = reader.push(chunk);
          if (payload) finish(undefined, payload);
        } catch (error) {
          finish(error);
        }
      });
      socket.on('error', (error) => finish(error));
      socket.on('close', () =>
        finish(new Error(`${to.host}:${to.port} closed the stream without an answer`)),
      );
    });
  }

  #serve(socket: Socket, onStream: StreamHandler): void {
    const from = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    if (this.#closed || this.#waiting.size >= 4 * this.#maxInboundStreams) {
      this.#onDrop?.(new MembershipDecodeError('busy', 'too many incoming streams'), from);
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    let reading = false;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      this.#clock.clearTimeout(timer);
      this.#sockets.delete(socket);
      socket.destroy();
      if (reading) {
        this.#reading--;
        this.#admitWaiting();
      } else {
        this.#waiting.delete(read);
      }
    };
    // A peer that connects and stalls must not hold the socket forever, waiting or read.
    const timer = this.#clock.setTimeout(done, this.#streamTimeoutMs);
    timer.unref?.();
    socket.on('error', done);
    socket.on('close', done);
    const read = () => {
      if (finished) return;
      reading = true;
      this.#reading++;
      this.#read(socket, from, onStream, done);
    };
    if (this.#reading < this.#maxInboundStreams) read();
    else this.#waiting.add(read);
  }

  /** Gives freed slots to waiting connections (those closed meanwhile return at once). */
  #admitWaiting(): void {
    for (const read of this.#waiting) {
      if (this.#reading >= this.#maxInboundStreams) break;
      this.#waiting.delete(read);
      read();
    }
  }

  #read(socket: Socket, from: Address, onStream: StreamHandler, done: () => void): void {
    const reader = new FrameReader(this.#maxFrame);
    socket.setTimeout(this.#streamIdleTimeoutMs, done);
    let handled = false;
    socket.on('data', (chunk) => {
      if (handled) return;
      let payload: Uint8Array | undefined;
      try {
        payload = reader.push(chunk);
      } catch (error) {
        if (error instanceof MembershipDecodeError) this.#onDrop?.(error, from);
        done();
        return;
      }
      if (!payload) return;
      handled = true;
      socket.pause();
      onStream(payload, from).then(
        (answer) => {
          if (answer && !socket.destroyed) socket.end(frame(answer), done);
          else done();
        },
        () => done(),
      );
    });
    socket.resume();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiting.clear();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await Promise.all([
      new Promise<void>((resolve) => this.#server.close(() => resolve())),
      new Promise<void>((resolve) => {
        try {
          this.#udp.close(() => resolve());
        } catch {
          resolve();
        }
      }),
    ]);
  }
}
