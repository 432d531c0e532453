import type { ServiceInstance } from '@switchyard/core';
import { numberOption } from './options.ts';

/** What `routableWithPanic` decided. */
export interface PanicVerdict {
  /** The instances to route to: the healthy ones, or all of them in panic. */
  readonly instances: readonly ServiceInstance[];
  /** Whether too few were healthy, so that traffic goes to all of them. */
  readonly panic: boolean;
  readonly healthy: number;
  readonly total: number;
}

/**
 * Envoy's panic mode. Normally only healthy instances take traffic; but when the healthy ones
 * fall below `panicThresholdPercent` of all, they would drown under the whole load, and a
 * health signal that marks most of a fleet down is more often wrong than right, so traffic
 * goes to every instance instead. 0 turns panic off (an all-unhealthy service then has no
 * instance to route to). Call it once per change of instances or health, not per request.
 *
 * @example
 * const { instances, panic } = routableWithPanic(all, (i) => checker.isRoutable(i.id), 50);
 * if (panic) log.warn('panic routing: fewer than half of the instances are healthy');
 */
export function routableWithPanic(
  all: readonly ServiceInstance[],
  isHealthy: (instance: ServiceInstance) => boolean,
  panicThresholdPercent = 50,
): PanicVerdict {
  const threshold = numberOption(panicThresholdPercent, 'panicThresholdPercent', 50, { max: 100 });
  const total = all.length;
  let healthy = 0;
  for (const instance of all) if (isHealthy(instance)) healthy++;
  if (healthy === total) return { instances: all, panic: false, healthy, total };
  if (healthy * 100 < threshold * total) return { instances: all, panic: true, healthy, total };
  return { instances: all.filter(isHealthy), panic: false, healthy, total };
}
