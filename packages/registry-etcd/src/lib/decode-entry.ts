import { type ServiceInstance, ValidationError, validateInstance } from '@switchyard/core';

/** One etcd key decoded: an instance to serve, or the reason it cannot be served. */
export type DecodedEntry =
  | { readonly ok: true; readonly instance: ServiceInstance }
  | { readonly ok: false; readonly reason: string; readonly error: Error };

/**
 * Decodes the JSON value stored under `<prefix><service>/<id>`. The body must be a valid
 * ServiceInstance of `service` whose id matches the key, so a record copied under the wrong key
 * cannot shadow another instance.
 *
 * @example
 * decodeEntry('users', 'users-1', '{"id":"users-1","service":"users","host":"10.0.0.7","port":80}');
 */
export function decodeEntry(service: string, keyId: string, value: string): DecodedEntry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    return { ok: false, reason: `value is not JSON (${(error as Error).message})`, error: error as Error };
  }
  try {
    const instance = validateInstance(parsed);
    if (instance.service !== service) {
      return mismatch('service', `body says service "${instance.service}", key says "${service}"`);
    }
    if (instance.id !== keyId) {
      return mismatch('id', `body says id "${instance.id}", key says "${keyId}"`);
    }
    return { ok: true, instance };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { ok: false, reason: error.message, error };
  }
}

function mismatch(field: string, detail: string): DecodedEntry {
  const error = new ValidationError(field, detail);
  return { ok: false, reason: error.message, error };
}
