/** Told when a listener throws: the error, and the event (or watch) it was listening to. */
export type ListenerErrorHandler = (error: unknown, event: string) => void;

/**
 * The default for a listener that threw: a process warning (printed once per process by
 * Node, visible to `process.on('warning')`), never an exception in the event loop. A bug in
 * one subscriber must not take down the process that routes every call.
 */
export const warnListenerError: ListenerErrorHandler = (error, event) => {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  try {
    process.emitWarning(`a listener of "${event}" threw: ${message}`, {
      type: 'SwitchyardListenerWarning',
      code: 'SWITCHYARD_LISTENER_THREW',
    });
  } catch {
    // A 'warning' handler that throws is not ours to surface.
  }
};

/** Calls `handler`, and if the handler itself throws, falls back to the process warning. */
export function reportListenerError(
  handler: ListenerErrorHandler | undefined,
  error: unknown,
  event: string,
): void {
  if (handler === undefined || handler === warnListenerError) {
    warnListenerError(error, event);
    return;
  }
  try {
    handler(error, event);
  } catch (second) {
    warnListenerError(second, event);
  }
}
