import type { OutlierHost } from './outlier-host.ts';
import type { SuccessRateOptions } from './outlier-options.ts';

/**
 * gRPC A50's (and Envoy's) success-rate rule over the interval that just ended: when at least
 * `minimumHosts` instances saw `requestVolume` calls, each of them whose success rate falls
 * below `mean − stdevFactor × stdev` of those instances is an outlier, handed to `eject` with
 * a chance of `enforcementPercentage`. Relative, so a service-wide failure ejects no one.
 * Allocates nothing.
 *
 * @example
 * judgeSuccessRate(hostsById, { stdevFactor: 1.9, minimumHosts: 5, requestVolume: 100, enforcementPercentage: 100 }, Math.random, eject);
 */
export function judgeSuccessRate(
  hosts: ReadonlyMap<string, OutlierHost>,
  rule: Required<SuccessRateOptions>,
  random: () => number,
  eject: (host: OutlierHost) => void,
): void {
  let judged = 0;
  let sum = 0;
  for (const host of hosts.values()) {
    const volume = host.okLast + host.failLast;
    if (volume < rule.requestVolume) continue;
    judged++;
    sum += host.okLast / volume;
  }
  if (judged === 0 || judged < rule.minimumHosts) return;
  const mean = sum / judged;
  let squares = 0;
  for (const host of hosts.values()) {
    const volume = host.okLast + host.failLast;
    if (volume >= rule.requestVolume) squares += (host.okLast / volume - mean) ** 2;
  }
  const required = mean - rule.stdevFactor * Math.sqrt(squares / judged);
  for (const host of hosts.values()) {
    const volume = host.okLast + host.failLast;
    if (host.ejected || volume < rule.requestVolume || host.okLast / volume >= required) continue;
    if (random() * 100 < rule.enforcementPercentage) eject(host);
  }
}
