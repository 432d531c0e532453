import { type ServiceInstance, type TimerHandle, TypedEmitter } from '@switchyard/core';
import { judgeFailurePercentage } from './failure-percentage.ts';
import { sameEndpoint, validateInstanceList } from './instance-list.ts';
import type { EjectionReason, OutlierEvents } from './outlier-events.ts';
import { newOutlierHost, type OutlierHost, rollOver } from './outlier-host.ts';
import {
  type OutlierDetectorOptions,
  type ResolvedOutlierOptions,
  resolveOutlierOptions,
} from './outlier-options.ts';
import { judgeSuccessRate } from './success-rate.ts';

/**
 * Passive outlier detection for one service, after Envoy and gRPC A50. The executor reports
 * each attempt with `record`; an instance is ejected at once after `consecutiveFailures`
 * failures in a row, or at an interval's end when its failure percentage over that interval
 * passes the threshold (or, if asked, its success rate lags far behind the others'). An ejection lasts `baseEjectionMs × times ejected` (capped) and ends
 * on its own; the count decays by one for every full interval the instance stays in. Never
 * more than `maxEjectionPercent` of the instances are out, except that one always may be.
 *
 * @example
 * const outliers = new OutlierDetector({ consecutiveFailures: 5, baseEjectionMs: 30_000 });
 * outliers.update(instances);
 * outliers.events.on('ejected', ({ instanceId, reason }) => console.warn('ejected', instanceId, reason));
 * outliers.record(instance, false); // after each attempt
 * if (!outliers.isEjected(instance.id)) { ... } // when picking
 */
export class OutlierDetector {
  readonly events = new TypedEmitter<OutlierEvents>();
  readonly #options: ResolvedOutlierOptions;
  readonly #hosts = new Map<string, OutlierHost>();
  #ejected = 0;
  #sweepTimer: TimerHandle | undefined;
  #lastSweepAt: number;
  #closed = false;

  constructor(options: OutlierDetectorOptions = {}) {
    this.#options = resolveOutlierOptions(options);
    this.#lastSweepAt = this.#options.clock.now();
  }

  /** Instances ejected right now. */
  get ejectedCount(): number {
    return this.#ejected;
  }

  /**
   * Sets the service's instances: new ones start clean, removed ones are forgotten (with their
   * ejection), and one whose host, port or scheme changed starts over. Throws a ValidationError,
   * changing nothing, on a bad list.
   */
  update(instances: readonly ServiceInstance[]): void {
    const ids = validateInstanceList(instances);
    if (this.#closed) return;
    for (const [id, host] of this.#hosts) if (!ids.has(id)) this.#forget(host);
    for (const instance of instances) {
      const host = this.#hosts.get(instance.id);
      if (host && sameEndpoint(host.instance, instance)) host.instance = instance;
      else {
        if (host) this.#forget(host);
        this.#hosts.set(instance.id, newOutlierHost(instance));
      }
    }
    if (this.#hosts.size > 0 && !this.#sweepTimer) {
      this.#lastSweepAt = this.#options.clock.now();
      this.#scheduleSweep();
    }
  }

  /** Records one attempt's outcome. Hot path: O(1), allocates nothing. Unknown instances are ignored. */
  record(instance: ServiceInstance, ok: boolean): void {
    const host = this.#hosts.get(instance.id);
    if (!host || this.#closed) return;
    if (ok) {
      host.okNow++;
      host.consecutive = 0;
      return;
    }
    host.failNow++;
    // Late answers from an ejected instance do not stack up a second ejection.
    if (host.ejected && !this.#expired(host)) return;
    const limit = this.#options.consecutiveFailures;
    if (limit > 0 && ++host.consecutive >= limit) this.#eject(host, 'consecutiveFailures');
  }

  /** Whether the instance is ejected now. Hot path: O(1), allocates nothing. */
  isEjected(instanceId: string): boolean {
    const host = this.#hosts.get(instanceId);
    if (!host?.ejected) return false;
    return !this.#expired(host);
  }

  /** Ends an instance's ejection early (an active check saw it healthy). Returns whether it was ejected. */
  restore(instanceId: string): boolean {
    const host = this.#hosts.get(instanceId);
    if (!host?.ejected) return false;
    this.#restore(host);
    return true;
  }

  /** Stops the interval and ejection timers. Ejected instances stay as they are. */
  close(): void {
    this.#closed = true;
    const { clock } = this.#options;
    if (this.#sweepTimer) clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    for (const host of this.#hosts.values()) {
      if (host.timer) clock.clearTimeout(host.timer);
      host.timer = undefined;
    }
  }

  /** Restores the host when its ejection has run out (timers may lag or be stopped). */
  #expired(host: OutlierHost): boolean {
    if (this.#options.clock.now() < host.ejectedUntil) return false;
    this.#restore(host);
    return true;
  }

  #mayEject(): boolean {
    const { maxEjectionPercent } = this.#options;
    if (maxEjectionPercent <= 0) return false;
    return this.#ejected === 0 || (this.#ejected + 1) * 100 <= maxEjectionPercent * this.#hosts.size;
  }

  #eject(host: OutlierHost, reason: EjectionReason): void {
    if (host.ejected || !this.#mayEject()) return;
    const { clock, baseEjectionMs, maxEjectionMs } = this.#options;
    host.times++;
    const durationMs = Math.min(baseEjectionMs * host.times, maxEjectionMs);
    host.ejected = true;
    host.ejectedUntil = clock.now() + durationMs;
    host.consecutive = 0;
    host.timer = clock.setTimeout(() => {
      host.timer = undefined;
      if (host.ejected) this.#restore(host);
    }, durationMs);
    this.#ejected++;
    if (this.events.hasListeners('ejected')) {
      const { instance } = host;
      const { service, id } = instance;
      this.events.emit('ejected', {
        service,
        instanceId: id,
        instance,
        reason,
        durationMs,
        times: host.times,
      });
    }
  }

  readonly #ejectForSuccessRate = (host: OutlierHost): void => this.#eject(host, 'successRate');
  readonly #ejectForPercentage = (host: OutlierHost): void => this.#eject(host, 'failurePercentage');

  #restore(host: OutlierHost): void {
    if (host.timer) this.#options.clock.clearTimeout(host.timer);
    host.timer = undefined;
    host.ejected = false;
    host.ejectedUntil = 0;
    host.consecutive = 0;
    host.restoredAt = this.#options.clock.now();
    this.#ejected--;
    if (this.events.hasListeners('restored')) {
      const { instance } = host;
      this.events.emit('restored', { service: instance.service, instanceId: instance.id, instance });
    }
  }

  #forget(host: OutlierHost): void {
    if (host.timer) this.#options.clock.clearTimeout(host.timer);
    if (host.ejected) this.#ejected--;
    this.#hosts.delete(host.instance.id);
  }

  #scheduleSweep(): void {
    this.#sweepTimer = this.#options.clock.setTimeout(() => {
      this.#sweepTimer = undefined;
      if (this.#closed) return;
      this.#sweep();
      if (this.#hosts.size > 0) this.#scheduleSweep();
    }, this.#options.intervalMs);
  }

  /** End of an interval: roll the counters over, run the interval rules, decay counts. */
  #sweep(): void {
    const start = this.#lastSweepAt;
    this.#lastSweepAt = this.#options.clock.now();
    for (const host of this.#hosts.values()) {
      rollOver(host);
      if (host.ejected) this.#expired(host);
    }
    // Success rate first, then failure percentage, as gRPC A50 orders them.
    const { successRate, failurePercentage, random } = this.#options;
    if (successRate) judgeSuccessRate(this.#hosts, successRate, random, this.#ejectForSuccessRate);
    if (failurePercentage)
      judgeFailurePercentage(this.#hosts, failurePercentage, random, this.#ejectForPercentage);
    for (const host of this.#hosts.values()) {
      // Only a full interval in service (not ejected, not just back) earns a decrement.
      if (!host.ejected && host.times > 0 && host.restoredAt <= start) host.times--;
    }
  }
}
