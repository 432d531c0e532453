import { isIP } from 'node:net';
import type { Address } from './transport.ts';

/** The `code` of the process warning a node emits when it gossips in the clear beyond loopback. */
export const UNENCRYPTED_GOSSIP_WARNING = 'SWITCHYARD_MEMBERSHIP_NO_KEYRING';

/** Whether only this machine can reach `host`: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Without a keyring every packet and frame is plain and unauthenticated: anyone who reaches the
 * port can forge members, evict them or take their names. Fine on loopback, not in production,
 * so say so once per node, as a process warning (`--no-warnings` silences it).
 */
export function warnIfUnencrypted(name: string, bound: Address, hasKeyring: boolean): void {
  if (hasKeyring || isLoopbackHost(bound.host)) return;
  process.emitWarning(
    `membership node "${name}" gossips on ${bound.host}:${bound.port} without a keyring: any host ` +
      'that reaches this port can forge, evict or impersonate members. Set `keyring` in production.',
    { type: 'SecurityWarning', code: UNENCRYPTED_GOSSIP_WARNING },
  );
}
