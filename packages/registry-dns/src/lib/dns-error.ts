import {
  RegistryProtocolError,
  RegistryUnavailableError,
  ServiceNotFoundError,
  type SwitchyardError,
} from '@switchyard/core';

// c-ares codes (node:dns) that mean "the name does not exist" or "no such record".
const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA']);
// Codes that mean "no usable answer now": worth retrying later, the name may well exist.
const UNAVAILABLE = new Set([
  'ETIMEOUT',
  'ECONNREFUSED',
  'ESERVFAIL',
  'EREFUSED',
  'ECANCELLED',
  'EDESTRUCTION',
  'ENOMEM',
  'ECONNRESET',
  'EAI_AGAIN',
]);

/** The c-ares error code of a node:dns failure, if any. */
export function dnsCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Maps a node:dns failure for `service`'s record `name` to a typed error: NXDOMAIN / no data →
 * ServiceNotFoundError; timeouts, refusals, server failures → RegistryUnavailableError; a
 * malformed answer → RegistryProtocolError. The original error is the `cause`.
 *
 * @example
 * throw toDnsError('users', '_http._tcp.users.local', error);
 */
export function toDnsError(service: string, name: string, error: unknown): SwitchyardError {
  const code = dnsCode(error) ?? 'EUNKNOWN';
  if (NOT_FOUND.has(code)) return new ServiceNotFoundError(service, { cause: error });
  const detail = `DNS query for ${name} failed with ${code}`;
  if (UNAVAILABLE.has(code)) return new RegistryUnavailableError(detail, { service, cause: error });
  return new RegistryProtocolError(detail, { service, cause: error });
}
