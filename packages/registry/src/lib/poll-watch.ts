import { type Clock, type ServiceInstance, sameInstances, type TimerHandle } from '@switchyard/core';

export interface PollWatchOptions {
  /** Fetches the list; a rejection keeps the last list (the caller reports outages). */
  readonly resolve: () => Promise<readonly ServiceInstance[]>;
  readonly listener: (instances: readonly ServiceInstance[]) => void;
  readonly clock: Clock;
  readonly intervalMs: number;
}

/**
 * `watch` for a registry that can only resolve: asks every `intervalMs` and calls the listener
 * with the first list and then with each list that differs from the last one delivered.
 * Returns the function that stops it (and clears its timer).
 */
export function pollWatch(options: PollWatchOptions): () => void {
  const { resolve, listener, clock, intervalMs } = options;
  let stopped = false;
  let last: readonly ServiceInstance[] | undefined;
  let timer: TimerHandle | undefined;
  const tick = async () => {
    try {
      const instances = await resolve();
      if (!stopped && (last === undefined || !sameInstances(last, instances))) {
        last = instances;
        listener(instances);
      }
    } catch {
      // keep the last list: an error never replaces it
    }
    if (!stopped) timer = clock.setTimeout(() => void tick(), intervalMs);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer) clock.clearTimeout(timer);
  };
}
