import type { OutlierHost } from './outlier-host.ts';
import type { FailurePercentageOptions } from './outlier-options.ts';

/**
 * gRPC A50's failure-percentage rule over the interval that just ended: when at least
 * `minimumHosts` instances saw `requestVolume` calls, each of them failing more than
 * `threshold` percent of its calls is an outlier, handed to `eject` with a chance of
 * `enforcementPercentage`. Allocates nothing.
 *
 * @example
 * judgeFailurePercentage(hostsById, rule, Math.random, (host) => detector.eject(host));
 */
export function judgeFailurePercentage(
  hosts: ReadonlyMap<string, OutlierHost>,
  rule: Required<FailurePercentageOptions>,
  random: () => number,
  eject: (host: OutlierHost) => void,
): void {
  let judged = 0;
  for (const host of hosts.values()) if (host.okLast + host.failLast >= rule.requestVolume) judged++;
  if (judged < rule.minimumHosts) return;
  for (const host of hosts.values()) {
    const volume = host.okLast + host.failLast;
    if (host.ejected || volume < rule.requestVolume) continue;
    if ((100 * host.failLast) / volume <= rule.threshold) continue;
    if (random() * 100 < rule.enforcementPercentage) eject(host);
  }
}
