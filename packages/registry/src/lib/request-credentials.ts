import { createHash, timingSafeEqual } from 'node:crypto';

/** Header carrying a registrant's owner key: who may replace, renew or remove its instances. */
export const OWNER_HEADER = 'x-registry-owner';

/** Reads a request header from whatever header shape the transport has. */
export interface HeaderSource {
  get(name: string): string | null;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Checks `Authorization: Bearer <token>` against the expected token in constant time (both
 * sides hashed first, so neither the length nor a prefix leaks through timing).
 */
export function bearerTokenMatches(headers: HeaderSource | undefined, expected: Buffer): boolean {
  const header = headers?.get('authorization') ?? '';
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  const given = digest(match?.[1] ?? '');
  return timingSafeEqual(given, expected) && match !== null;
}

export function tokenDigest(token: string): Buffer {
  return digest(token);
}

/**
 * The owner of a write request: a digest of its owner key ('' without one). Only the digest is
 * kept, so the registry never holds (nor could leak) the key itself.
 */
export function ownerOf(headers: HeaderSource | undefined): string {
  const key = headers?.get(OWNER_HEADER);
  return key ? digest(key).toString('base64url') : '';
}

/** Whether a Content-Type header names JSON (`application/json`, any parameters). */
export function isJsonContentType(value: string | null | undefined): boolean {
  if (!value) return false;
  return /^application\/json\s*(;|$)/i.test(value.trim());
}
