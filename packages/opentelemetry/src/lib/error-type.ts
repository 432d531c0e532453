/** `error.type` of the semantic conventions: the error's code (ECONNREFUSED), else its class name. */
export function errorType(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && code.length > 0) return code;
  const causeCode = (error as { cause?: { code?: unknown } })?.cause?.code;
  if (typeof causeCode === 'string' && causeCode.length > 0) return causeCode;
  return error instanceof Error ? error.name : '_OTHER';
}
