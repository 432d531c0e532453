import { describeValue, ValidationError } from '@switchyard/core';

/** Per-call overrides a request carries as headers; they are removed before it is sent. */
export const HASH_KEY_HEADER = 'x-switchyard-hash-key';
export const IDEMPOTENT_HEADER = 'x-switchyard-idempotent';
export const TIMEOUT_HEADER = 'x-switchyard-timeout-ms';

export interface CallOverrides {
  hashKey?: string;
  idempotent?: boolean;
  timeoutMs?: number;
}

export type OutgoingHeaders = Record<string, string | string[]>;

const MAX_TIMEOUT_MS = 2_147_483_647;
const MAX_HASH_KEY = 1024;

/**
 * Copies undici's request headers (an object, a flat `[name, value, …]` array, pairs, or any
 * iterable of pairs) into a fresh object, takes out the `x-switchyard-*` overrides, and adds
 * `host: logicalHost` unless the caller set one, so the instance sees the service's name.
 */
export function prepareHeaders(
  headers: unknown,
  logicalHost: string,
  overrides: CallOverrides,
): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  let hasHost = false;
  if (headers === undefined || headers === null) {
    // nothing to copy
  } else if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown[][])
        hasHost = addHeader(out, pair[0], pair[1], overrides) || hasHost;
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2)
        hasHost = addHeader(out, headers[i], headers[i + 1], overrides) || hasHost;
    }
  } else if (typeof headers === 'object' && isIterable(headers)) {
    for (const pair of headers as Iterable<unknown[]>)
      hasHost = addHeader(out, pair[0], pair[1], overrides) || hasHost;
  } else if (typeof headers === 'object') {
    const record = headers as Record<string, unknown>;
    for (const name in record) hasHost = addHeader(out, name, record[name], overrides) || hasHost;
  }
  if (!hasHost) out.host = logicalHost;
  return out;
}

/** Copies one header into `out`, or reads it as an override; true when it is the Host header. */
function addHeader(
  out: OutgoingHeaders,
  rawName: unknown,
  value: unknown,
  overrides: CallOverrides,
): boolean {
  if (value === undefined || value === null) return false;
  const name = (typeof rawName === 'string' ? rawName : String(rawName)).toLowerCase();
  if (name.startsWith('x-switchyard-')) {
    readOverride(name, value, overrides);
    return false;
  }
  const values = typeof value === 'string' ? value : Array.isArray(value) ? value.map(String) : String(value);
  const existing = out[name];
  if (existing === undefined) out[name] = values;
  else out[name] = ([] as string[]).concat(existing, values);
  return name === 'host';
}

function isIterable(value: object): boolean {
  // A plain object has no iterator; a Headers, Map or array of pairs has.
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

function readOverride(name: string, raw: unknown, overrides: CallOverrides): void {
  const value = Array.isArray(raw) ? raw[0] : raw;
  const text = String(value).trim();
  switch (name) {
    case HASH_KEY_HEADER:
      if (text.length === 0 || text.length > MAX_HASH_KEY) {
        throw new ValidationError(
          name,
          `expected 1..${MAX_HASH_KEY} characters, got ${describeValue(value)}`,
        );
      }
      overrides.hashKey = text;
      return;
    case IDEMPOTENT_HEADER:
      if (text !== 'true' && text !== 'false') {
        throw new ValidationError(name, `expected "true" or "false", got ${describeValue(value)}`);
      }
      overrides.idempotent = text === 'true';
      return;
    case TIMEOUT_HEADER: {
      const ms = Number(text);
      if (!/^\d+$/.test(text) || ms < 1 || ms > MAX_TIMEOUT_MS) {
        throw new ValidationError(name, `expected whole milliseconds >= 1, got ${describeValue(value)}`);
      }
      overrides.timeoutMs = ms;
      return;
    }
    default:
      // An unknown x-switchyard-* header is a typo of one of ours: say so rather than send it.
      throw new ValidationError(
        name,
        `unknown Switchyard header; known: ${HASH_KEY_HEADER}, ${IDEMPOTENT_HEADER}, ${TIMEOUT_HEADER}`,
      );
  }
}
