import {
  abortReason,
  isAbortError,
  neverAbortedSignal,
  RegistryUnavailableError,
  SwitchyardError,
} from '@switchyard/core';

/**
 * Runs one etcd call for `service`: rejects as soon as `signal` aborts (the gRPC call itself
 * then ends on its deadline), and turns etcd3's transport errors into RegistryUnavailableError
 * with the original as `cause`.
 *
 * @example
 * const response = await callEtcd('users', signal, 'get', () => client.getAll().prefix(p).exec());
 */
export async function callEtcd<T>(
  service: string | undefined,
  signal: AbortSignal = neverAbortedSignal,
  operation: string,
  run: () => Promise<T>,
  timeoutMs?: number,
): Promise<T> {
  if (signal.aborted) throw abortReason(signal);
  let onAbort: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    // Streams (keepalive) carry no gRPC deadline: bound them here.
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    }
  });
  try {
    return await Promise.race([run(), aborted]);
  } catch (error) {
    if (error instanceof SwitchyardError || isAbortError(error) || signal.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new RegistryUnavailableError(`etcd ${operation} failed: ${message}`, { service, cause: error });
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
