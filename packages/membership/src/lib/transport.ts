import { ValidationError } from '@switchyard/core';

/** Where a node listens: one host and port for both UDP (packets) and TCP (streams). */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Receives a datagram. Must not throw; errors are the receiver's to count. */
export type PacketHandler = (data: Uint8Array, from: Address) => void;

/** Answers a stream request (one frame in, at most one frame out). */
export type StreamHandler = (data: Uint8Array, from: Address) => Promise<Uint8Array | undefined>;

export interface RequestOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs: number;
}

/**
 * How a Membership node talks to its peers. `sendPacket` is best-effort and unordered (UDP);
 * `request` is one reliable request/response exchange (TCP) used for join and push-pull.
 * The real implementation is `createNetTransport`; `MemoryNetwork` gives deterministic ones for
 * tests and simulations.
 */
export interface Transport {
  /** The bound address (the real port when 0 was asked for). */
  readonly address: Address;
  /** Hands received packets and stream requests to the node. Called once, before any traffic. */
  listen(onPacket: PacketHandler, onStream: StreamHandler): void;
  /** Sends one datagram; returns false when it could not even be handed to the network. */
  sendPacket(to: Address, data: Uint8Array): boolean;
  /** Sends one frame and waits for the answer frame, within `timeoutMs` and `signal`. */
  request(to: Address, data: Uint8Array, options: RequestOptions): Promise<Uint8Array>;
  /** Stops listening and releases sockets; pending requests reject. */
  close(): Promise<void>;
}

/** `"host:port"` (IPv6 as `"[::1]:7946"`) → Address; a ValidationError names the bad part. */
export function parseAddress(value: string, field = 'seed'): Address {
  if (typeof value !== 'string')
    throw new ValidationError(field, `expected "host:port", got ${typeof value}`);
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
  if (!match) throw new ValidationError(field, `expected "host:port", got ${JSON.stringify(value)}`);
  const port = Number(match[3]);
  if (port < 1 || port > 65535) throw new ValidationError(field, `port ${port} is not in 1..65535`);
  return { host: (match[1] ?? match[2])!, port };
}

/** `host:port`, bracketing IPv6 hosts. */
export function formatAddress(address: Address): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.port === b.port && a.host === b.host;
}
