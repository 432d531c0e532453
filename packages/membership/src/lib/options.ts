import { type Clock, systemClock, ValidationError } from '@switchyard/core';
import { ENCRYPTION_OVERHEAD, type Keyring } from './keyring.ts';
import type { Transport } from './transport.ts';

/** Options of `Membership.create`. Times are in milliseconds. */
export interface MembershipOptions {
  /** Unique member name; becomes the instance id in MembershipRegistry. */
  readonly name: string;
  readonly bindHost?: string;
  /** 0 (default) picks a free port, the same for UDP and TCP. */
  readonly bindPort?: number;
  /** The address other members use to reach this one (default `bindHost`; required for a wildcard bind). */
  readonly advertiseHost?: string;
  /** Small string map gossiped with the member (at most 512 bytes encoded). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Packets from clusters with another label are dropped (default ''). */
  readonly clusterLabel?: string;
  /** Encrypts and authenticates every packet and frame with AES-256-GCM. */
  readonly keyring?: Keyring;
  /** SWIM protocol period: one probe per period (default 1000). */
  readonly probeIntervalMs?: number;
  /** How long to wait for a direct ack before asking others (default 500). */
  readonly probeTimeoutMs?: number;
  /** Members asked to probe indirectly (k in SWIM, default 3). */
  readonly indirectChecks?: number;
  /** Suspicion timeout = mult · log10(n) · probe interval, at least (default 4). */
  readonly suspicionMult?: number;
  /** Lifeguard: the first suspicion timeout is this many times the minimum (default 6). */
  readonly suspicionMaxTimeoutMult?: number;
  /** λ in the retransmit limit λ·log(n) (default 4). */
  readonly retransmitMult?: number;
  /** Full-state sync with one random member this often; 0 disables (default 30000). */
  readonly pushPullIntervalMs?: number;
  /** Piggyback-free gossip rounds (default 200). */
  readonly gossipIntervalMs?: number;
  /** Members each gossip round goes to (default 3). */
  readonly gossipNodes?: number;
  /** How long a dead or left member is remembered, so stale news cannot revive it (default 30000). */
  readonly reapDelayMs?: number;
  /** Lifeguard's local health awareness cap; 0 disables it (default 8). */
  readonly awarenessMaxMultiplier?: number;
  /** Turns all three Lifeguard parts (awareness, dynamic suspicion, nacks) off together (default true). */
  readonly lifeguard?: boolean;
  /**
   * Largest step above a known member's incarnation that a claim may take; claims beyond are
   * dropped (reason `incarnation`). A member bumps its own by one per refutation, metadata
   * change or leave, so honest news never comes near it (default 65536; the u32 ceiling is then
   * 65,536 accepted steps away, where a wrap-around took one packet).
   */
  readonly maxIncarnationJump?: number;
  /**
   * Members held at most, this node and dead and left ones included (default 10000); news of
   * further members is dropped (reason `member-limit`) until some are reaped.
   */
  readonly maxMembers?: number;
  /**
   * New members one push-pull from a peer may add (default 256); the rest still arrive by
   * gossip and later exchanges. The answer of a seed this node joins through is not capped.
   */
  readonly maxNewMembersPerMerge?: number;
  /** Largest UDP packet sent or accepted (default 1400, under a typical MTU). */
  readonly maxPacketBytes?: number;
  /** Largest TCP frame accepted (default 4 MiB). */
  readonly maxFrameBytes?: number;
  /** Deadline of one join or push-pull exchange (default 10000). */
  readonly streamTimeoutMs?: number;
  /** An incoming stream silent this long is closed (default 5000). */
  readonly streamIdleTimeoutMs?: number;
  /**
   * Incoming streams read at once, each buffering at most `maxFrameBytes` before it can be
   * decrypted (default 8); up to 4× as many more wait unread, later ones are closed (`busy`).
   */
  readonly maxInboundStreams?: number;
  readonly clock?: Clock;
  /** A bound transport to use instead of UDP/TCP sockets (tests and simulations). */
  readonly transport?: Transport;
  /** Randomness for probe order and peer selection (default Math.random). */
  readonly random?: () => number;
}

export interface ResolvedOptions {
  readonly name: string;
  readonly bindHost: string;
  readonly bindPort: number;
  readonly advertiseHost: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
  readonly clusterLabel: string;
  readonly keyring: Keyring | undefined;
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  readonly indirectChecks: number;
  readonly suspicionMult: number;
  readonly suspicionMaxTimeoutMult: number;
  readonly retransmitMult: number;
  readonly pushPullIntervalMs: number;
  readonly gossipIntervalMs: number;
  readonly gossipNodes: number;
  readonly reapDelayMs: number;
  readonly awarenessMaxMultiplier: number;
  readonly lifeguard: boolean;
  readonly maxIncarnationJump: number;
  readonly maxMembers: number;
  readonly maxNewMembersPerMerge: number;
  readonly maxPacketBytes: number;
  readonly maxFrameBytes: number;
  readonly streamTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  readonly maxInboundStreams: number;
  readonly clock: Clock;
  readonly transport: Transport | undefined;
  readonly random: () => number;
}

/** Largest encoded metadata, as memberlist's MetaMaxSize: it must fit in one packet with room to spare. */
export const MAX_METADATA_BYTES = 512;
const NAME = /^[^\s/]{1,255}$/;
const HOST = /^[^\s/?#@]{1,253}$/;
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);
/** An alive message with the longest id, host and metadata: type, length, id, incarnation, host, port, metadata. */
const MAX_ALIVE_BYTES = 3 + 256 + 4 + 256 + 2 + MAX_METADATA_BYTES;

/** Validates every option up front; a ValidationError names the first bad one. */
export function resolveOptions(options: MembershipOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new ValidationError('options', 'expected an options object');
  }
  const name = options.name;
  if (typeof name !== 'string' || !NAME.test(name) || Buffer.byteLength(name) > 255) {
    throw new ValidationError(
      'name',
      `expected 1..255 bytes without spaces or '/', got ${JSON.stringify(name)}`,
    );
  }
  const label = options.clusterLabel ?? '';
  if (typeof label !== 'string' || Buffer.byteLength(label) > 255) {
    throw new ValidationError('clusterLabel', 'expected a string of at most 255 bytes');
  }
  const probeIntervalMs = positive(options, 'probeIntervalMs', 1000);
  const probeTimeoutMs = positive(options, 'probeTimeoutMs', Math.min(500, probeIntervalMs / 2));
  if (probeTimeoutMs >= probeIntervalMs) {
    throw new ValidationError('probeTimeoutMs', `must be below probeIntervalMs (${probeIntervalMs})`);
  }
  // The largest possible alive message must fit in one packet, or it could never be gossiped.
  const minPacket =
    MAX_ALIVE_BYTES + 4 + Buffer.byteLength(label) + (options.keyring ? ENCRYPTION_OVERHEAD : 0);
  const maxPacketBytes = positive(options, 'maxPacketBytes', Math.max(1400, minPacket));
  if (!Number.isInteger(maxPacketBytes) || maxPacketBytes < minPacket || maxPacketBytes > 65_507) {
    throw new ValidationError(
      'maxPacketBytes',
      `expected an integer in ${minPacket}..65507, got ${maxPacketBytes}`,
    );
  }
  const bindHost = options.bindHost ?? '127.0.0.1';
  if (typeof bindHost !== 'string' || bindHost.length === 0 || Buffer.byteLength(bindHost) > 255) {
    throw new ValidationError('bindHost', `expected a host name or address, got ${JSON.stringify(bindHost)}`);
  }
  const advertiseHost = options.advertiseHost;
  if (advertiseHost !== undefined && (typeof advertiseHost !== 'string' || !HOST.test(advertiseHost))) {
    throw new ValidationError(
      'advertiseHost',
      `expected a host name or address, got ${JSON.stringify(advertiseHost)}`,
    );
  }
  const advertised = advertiseHost ?? bindHost;
  if (WILDCARDS.has(advertised)) {
    throw new ValidationError(
      'advertiseHost',
      `"${advertised}" cannot be reached by others; set advertiseHost`,
    );
  }
  return {
    name,
    bindHost,
    advertiseHost,
    bindPort: integer(options, 'bindPort', 0, 0, 65535),
    metadata: validateMetadata(options.metadata ?? {}),
    clusterLabel: label,
    keyring: options.keyring,
    probeIntervalMs,
    probeTimeoutMs,
    indirectChecks: integer(options, 'indirectChecks', 3, 0, 32),
    suspicionMult: positive(options, 'suspicionMult', 4),
    suspicionMaxTimeoutMult: positive(options, 'suspicionMaxTimeoutMult', 6),
    retransmitMult: integer(options, 'retransmitMult', 4, 1, 100),
    pushPullIntervalMs: nonNegative(options, 'pushPullIntervalMs', 30_000),
    gossipIntervalMs: positive(options, 'gossipIntervalMs', 200),
    gossipNodes: integer(options, 'gossipNodes', 3, 1, 64),
    reapDelayMs: nonNegative(options, 'reapDelayMs', 30_000),
    awarenessMaxMultiplier: integer(options, 'awarenessMaxMultiplier', 8, 0, 64),
    lifeguard: options.lifeguard ?? true,
    maxIncarnationJump: integer(options, 'maxIncarnationJump', 65_536, 1, 2 ** 31),
    maxMembers: integer(options, 'maxMembers', 10_000, 2, 1_000_000),
    maxNewMembersPerMerge: integer(options, 'maxNewMembersPerMerge', 256, 1, 1_000_000),
    maxPacketBytes,
    maxFrameBytes: integer(options, 'maxFrameBytes', 4 * 1024 * 1024, 1024, 2 ** 31 - 1),
    streamTimeoutMs: positive(options, 'streamTimeoutMs', 10_000),
    streamIdleTimeoutMs: positive(options, 'streamIdleTimeoutMs', 5_000),
    maxInboundStreams: integer(options, 'maxInboundStreams', 8, 1, 4096),
    clock: options.clock ?? systemClock,
    transport: options.transport,
    random: options.random ?? Math.random,
  };
}

/** Checks metadata is a map of strings that fits in a packet; returns a frozen copy. */
export function validateMetadata(metadata: unknown): Readonly<Record<string, string>> {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ValidationError('metadata', 'expected an object of strings');
  }
  const copy: Record<string, string> = {};
  let bytes = 1;
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string')
      throw new ValidationError(`metadata.${key}`, `expected a string, got ${typeof value}`);
    const keyBytes = Buffer.byteLength(key);
    if (keyBytes === 0 || keyBytes > 255)
      throw new ValidationError(`metadata.${key}`, 'key must be 1..255 bytes');
    bytes += 1 + keyBytes + 2 + Buffer.byteLength(value);
    copy[key] = value;
  }
  if (Object.keys(copy).length > 255) throw new ValidationError('metadata', 'at most 255 keys');
  if (bytes > MAX_METADATA_BYTES) {
    throw new ValidationError('metadata', `encodes to ${bytes} bytes, more than ${MAX_METADATA_BYTES}`);
  }
  return Object.freeze(copy);
}

function read(options: MembershipOptions, field: keyof MembershipOptions, fallback: number): number {
  const value = options[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValidationError(field, `expected a finite number, got ${String(value)}`);
  }
  return value;
}

function positive(options: MembershipOptions, field: keyof MembershipOptions, fallback: number): number {
  const value = read(options, field, fallback);
  if (value <= 0) throw new ValidationError(field, `expected a number > 0, got ${value}`);
  return value;
}

function nonNegative(options: MembershipOptions, field: keyof MembershipOptions, fallback: number): number {
  const value = read(options, field, fallback);
  if (value < 0) throw new ValidationError(field, `expected a number >= 0, got ${value}`);
  return value;
}

function integer(
  options: MembershipOptions,
  field: keyof MembershipOptions,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = read(options, field, fallback);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `expected an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}
