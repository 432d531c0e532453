import {
  raceAbort,
  type ServiceInstance,
  type TimerHandle,
  TypedEmitter,
  ValidationError,
} from '@switchyard/core';
import { Agent } from 'undici';
import type { HealthCheckError } from './health-check-error.ts';
import {
  type HealthCheckOptions,
  type ResolvedHealthCheckOptions,
  resolveHealthCheckOptions,
} from './health-check-options.ts';
import type { ActiveHealthEvents } from './health-events.ts';
import { type HealthState, HealthTally } from './health-tally.ts';
import { sameEndpoint, validateInstanceList } from './instance-list.ts';
import { type ProbeSettings, runProbe } from './run-probe.ts';

interface Target {
  instance: ServiceInstance;
  tally: HealthTally;
  timer: TimerHandle | undefined;
  running: Promise<void> | undefined;
  controller: AbortController | undefined;
  removed: boolean;
}

/**
 * Active health checks for one service (Envoy's model): every instance is probed on its own
 * jittered interval; `healthyThreshold` successes or `unhealthyThreshold` failures in a row
 * flip its state, so one lost probe does not make an instance flap. An unknown instance turns
 * healthy on its first success (as Envoy does at startup) and unhealthy only after
 * `unhealthyThreshold` failures; until then `initialState` decides whether it takes traffic.
 *
 * @example
 * const checker = new ActiveHealthChecker({ type: 'http', path: '/health', intervalMs: 5000 });
 * checker.events.on('unhealthy', ({ instanceId, error }) => console.warn(instanceId, error.message));
 * checker.update(instances);
 * const usable = instances.filter((i) => checker.isRoutable(i.id));
 * await checker.close();
 */
export class ActiveHealthChecker {
  readonly events = new TypedEmitter<ActiveHealthEvents>();
  readonly #options: ResolvedHealthCheckOptions;
  readonly #targets = new Map<string, Target>();
  readonly #probeSettings: ProbeSettings;
  readonly #ownAgent: Agent | undefined;
  readonly #unknownRoutable: boolean;
  #closing: Promise<void> | undefined;

  constructor(options: HealthCheckOptions) {
    this.#options = resolveHealthCheckOptions(options);
    const { type, dispatcher, timeoutMs, clock } = this.#options;
    this.#unknownRoutable = this.#options.initialState === 'routable';
    // One Agent per checker: probes reuse its connections, and close() releases them all.
    this.#ownAgent =
      type === 'http' && !dispatcher ? new Agent({ connect: { timeout: timeoutMs } }) : undefined;
    const http =
      type === 'http' ? { ...this.#options, dispatcher: (dispatcher ?? this.#ownAgent)! } : undefined;
    this.#probeSettings = { http, timeoutMs, clock };
  }

  /**
   * Sets the instances to check: new ones start being checked (first probes spread over the
   * jitter window), removed ones stop at once, and an instance whose host, port or scheme
   * changed starts over as unknown. Throws a ValidationError, changing nothing, on a bad list.
   */
  update(instances: readonly ServiceInstance[]): void {
    const seen = validateInstanceList(instances);
    if (this.#closing) return;
    for (const [id, target] of this.#targets) {
      if (!seen.has(id)) this.#remove(target);
    }
    for (const instance of instances) {
      const target = this.#targets.get(instance.id);
      if (target && sameEndpoint(target.instance, instance)) {
        target.instance = instance;
        continue;
      }
      if (target) this.#remove(target);
      this.#add(instance);
    }
  }

  /** The instance's current state; `unknown` for instances never checked or not tracked. */
  state(instanceId: string): HealthState {
    return this.#targets.get(instanceId)?.tally.state ?? 'unknown';
  }

  /** Whether active checks let the instance take traffic. O(1), allocates nothing. */
  isRoutable(instanceId: string): boolean {
    const state = this.#targets.get(instanceId)?.tally.state;
    return state === 'healthy' || (state !== 'unhealthy' && this.#unknownRoutable);
  }

  /**
   * Checks one instance (or all) right now and resolves when the check is done; a check
   * already running is joined rather than doubled. The signal only stops the wait.
   */
  async checkNow(instanceId?: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closing) return;
    let targets: Target[];
    if (instanceId === undefined) {
      targets = [...this.#targets.values()];
    } else {
      const target = this.#targets.get(instanceId);
      if (!target) throw new ValidationError('instanceId', `"${instanceId}" is not checked by this checker`);
      targets = [target];
    }
    await raceAbort(Promise.all(targets.map((target) => this.#run(target))), options.signal);
  }

  /** Stops every timer and probe and closes the checker's own undici Agent. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const running: Promise<void>[] = [];
      for (const target of this.#targets.values()) {
        if (target.running) running.push(target.running);
        this.#remove(target);
      }
      await Promise.allSettled(running);
      await this.#ownAgent?.close();
    })();
    return this.#closing;
  }

  #add(instance: ServiceInstance): void {
    const target: Target = {
      instance,
      tally: new HealthTally(this.#options.healthyThreshold, this.#options.unhealthyThreshold),
      timer: undefined,
      running: undefined,
      controller: undefined,
      removed: false,
    };
    this.#targets.set(instance.id, target);
    // Spread first probes over the jitter window so a large list does not fire at once.
    const { intervalMs, jitter, random } = this.#options;
    this.#schedule(target, intervalMs * jitter * random());
  }

  #remove(target: Target): void {
    target.removed = true;
    if (target.timer) this.#options.clock.clearTimeout(target.timer);
    target.timer = undefined;
    target.controller?.abort(new DOMException('health check stopped', 'AbortError'));
    if (this.#targets.get(target.instance.id) === target) this.#targets.delete(target.instance.id);
  }

  #schedule(target: Target, delayMs: number): void {
    target.timer = this.#options.clock.setTimeout(() => {
      target.timer = undefined;
      void this.#run(target);
    }, delayMs);
  }

  #run(target: Target): Promise<void> {
    if (target.running) return target.running;
    if (target.removed) return Promise.resolve();
    if (target.timer) this.#options.clock.clearTimeout(target.timer);
    target.timer = undefined;
    target.running = this.#probe(target).finally(() => {
      target.running = undefined;
      if (!target.removed) {
        const { intervalMs, jitter, random } = this.#options;
        this.#schedule(target, intervalMs * (1 - jitter + 2 * jitter * random()));
      }
    });
    return target.running;
  }

  async #probe(target: Target): Promise<void> {
    const controller = new AbortController();
    target.controller = controller;
    const failure = await runProbe(target.instance, this.#probeSettings, controller);
    target.controller = undefined;
    // A probe cut short by update() or close() says nothing about the instance.
    if (target.removed) return;
    if (failure) this.#onFailure(target, failure);
    else this.#onSuccess(target);
    if (this.events.hasListeners('checked')) {
      const { id, service } = target.instance;
      this.events.emit('checked', { service, instanceId: id, state: target.tally.state, error: failure });
    }
  }

  #onSuccess(target: Target): void {
    const previous = target.tally.success();
    if (previous === undefined || !this.events.hasListeners('healthy')) return;
    const { instance } = target;
    this.events.emit('healthy', { service: instance.service, instanceId: instance.id, instance, previous });
  }

  #onFailure(target: Target, error: HealthCheckError): void {
    const previous = target.tally.failure();
    if (previous === undefined || !this.events.hasListeners('unhealthy')) return;
    const { instance } = target;
    this.events.emit('unhealthy', {
      service: instance.service,
      instanceId: instance.id,
      instance,
      previous,
      error,
    });
  }
}
