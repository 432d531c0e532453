/** HTTP methods that are safe to send twice (RFC 9110 §9.2.2), as undici's retry handler assumes. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
]);

/**
 * Whether a request with `method` may be re-sent after it may have reached an instance.
 *
 * @example
 * executor.execute(source, fn, { idempotent: isIdempotentMethod(options.method ?? 'GET') });
 */
export function isIdempotentMethod(method: string): boolean {
  // Called on every request: the usual upper-case spellings answer without a new string.
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'PUT':
    case 'DELETE':
    case 'TRACE':
      return true;
    case 'POST':
    case 'PATCH':
    case 'CONNECT':
      return false;
    default:
      return IDEMPOTENT_METHODS.has(method.toUpperCase());
  }
}
