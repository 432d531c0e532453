import { ValidationError } from '@switchyard/core';

/** The call's hash key, or a ValidationError naming `hashKey` when the call has none. */
export function requireHashKey(key: unknown, strategy: string, service: string): string {
  if (typeof key !== 'string' || key === '') {
    throw new ValidationError(
      'hashKey',
      `${strategy} routes by key: pass a non-empty string hashKey with every call (got ${key === '' ? 'an empty string' : typeof key})`,
      { service },
    );
  }
  return key;
}
