import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';

const SRV = 33;

/**
 * The lowest TTL (ms) of the SRV records of `name`, asked of `server` directly over UDP.
 * node:dns returns SRV records without their TTL, so a watch would otherwise not know how long
 * the answer is good for. Best effort: any failure (timeout, truncation, odd answer) gives
 * `undefined`, and the caller falls back to the targets' address TTLs.
 *
 * @example
 * await srvTtlMs('127.0.0.1:5353', '_http._tcp.users.local', 1000); // e.g. 30000
 */
export function srvTtlMs(server: string, name: string, timeoutMs: number): Promise<number | undefined> {
  const { host, port } = parseServer(server);
  const id = Math.floor(Math.random() * 0x10000);
  const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    const done = (value: number | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    timer.unref();
    socket.on('error', () => done(undefined));
    socket.on('message', (message) => {
      if (message.readUInt16BE(0) !== id) return; // not our answer
      done(lowestSrvTtl(message));
    });
    socket.send(buildQuery(id, name), port, host, (error) => {
      if (error) done(undefined);
    });
  });
}

function parseServer(server: string): { host: string; port: number } {
  const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(server);
  if (bracketed) return { host: bracketed[1] as string, port: Number(bracketed[2] ?? 53) };
  if (isIPv6(server)) return { host: server, port: 53 };
  const [host, port] = server.split(':');
  return { host: host as string, port: Number(port ?? 53) };
}

function buildQuery(id: number, name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  const question = Buffer.concat([
    ...labels.map((label) => Buffer.concat([Buffer.from([Buffer.byteLength(label)]), Buffer.from(label)])),
    Buffer.from([0, 0, SRV, 0, 1]), // root, QTYPE SRV, QCLASS IN
  ]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4); // one question
  return Buffer.concat([header, question]);
}

/** Walks the answer section; returns the lowest TTL of SRV records, in ms. */
function lowestSrvTtl(message: Buffer): number | undefined {
  try {
    const flags = message.readUInt16BE(2);
    if (flags & 0x0200 || (flags & 0x000f) !== 0) return undefined; // truncated, or an error rcode
    const questions = message.readUInt16BE(4);
    const answers = message.readUInt16BE(6);
    let offset = 12;
    for (let i = 0; i < questions; i++) offset = skipName(message, offset) + 4;
    let lowest: number | undefined;
    for (let i = 0; i < answers; i++) {
      offset = skipName(message, offset);
      const type = message.readUInt16BE(offset);
      const ttl = message.readUInt32BE(offset + 4);
      const length = message.readUInt16BE(offset + 8);
      offset += 10 + length;
      if (type === SRV) lowest = Math.min(lowest ?? Number.POSITIVE_INFINITY, ttl);
    }
    return lowest === undefined ? undefined : lowest * 1000;
  } catch {
    return undefined; // a short or malformed packet: read past the end
  }
}

function skipName(message: Buffer, offset: number): number {
  for (;;) {
    const length = message.readUInt8(offset);
    if (length === 0) return offset + 1;
    if ((length & 0xc0) === 0xc0) return offset + 2; // compression pointer ends the name
    offset += 1 + length;
  }
}
