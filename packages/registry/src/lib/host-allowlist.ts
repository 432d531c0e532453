import { isIP } from 'node:net';
import { ValidationError } from '@switchyard/core';

/**
 * Which `Host` headers the server answers: a defence against DNS rebinding, where a web page
 * points its own name at 127.0.0.1 and the browser then sends `Host: attacker.example`.
 * Default: loopback names and addresses plus the address the server is bound to. `'*'` in the
 * list accepts any host (only behind a proxy that checks it).
 */
export function hostAllowlist(
  allowed: readonly string[] | undefined,
  boundHost: string,
): (host: string | undefined) => boolean {
  if (
    allowed !== undefined &&
    (!Array.isArray(allowed) || allowed.some((h) => typeof h !== 'string' || h === ''))
  ) {
    throw new ValidationError('allowedHosts', 'expected an array of host names or addresses (or "*")');
  }
  if (allowed?.includes('*')) return () => true;
  const names = new Set((allowed ?? ['localhost', '::1', boundHost]).map(normalise));
  const loopbackDefault = allowed === undefined;
  return (header) => {
    if (!header) return false;
    const host = normalise(hostnameOf(header));
    if (names.has(host)) return true;
    // Every 127.x.y.z is loopback: allowed by default.
    return loopbackDefault && isIP(host) === 4 && host.startsWith('127.');
  };
}

/** `name:port`, `[v6]:port`, `name` → the host name alone. */
function hostnameOf(header: string): string {
  const value = header.trim();
  if (value.startsWith('['))
    return value.slice(1, value.indexOf(']') === -1 ? undefined : value.indexOf(']'));
  const colon = value.lastIndexOf(':');
  return colon === -1 || value.indexOf(':') !== colon ? value : value.slice(0, colon);
}

function normalise(host: string): string {
  return host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}
