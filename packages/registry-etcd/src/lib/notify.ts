import type { ServiceInstance } from '@switchyard/core';

/**
 * Calls a watch listener; an error it throws must not stop the watch nor the other listeners,
 * so it is re-thrown on a microtask (as EventTarget does) where it is seen, not swallowed.
 *
 * @example
 * for (const listener of listeners) notify(listener, instances);
 */
export function notify(
  listener: (instances: readonly ServiceInstance[]) => void,
  instances: readonly ServiceInstance[],
): void {
  try {
    listener(instances);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
