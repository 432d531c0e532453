import {
  type Balancer,
  localityAware,
  type PickContext,
  type Picker,
  roundRobin,
  slowStart,
} from '@switchyard/balancers';
import {
  createSnapshot,
  type InstanceSnapshot,
  LoadStats,
  type ServiceInstance,
  sameInstances,
  type TimerHandle,
} from '@switchyard/core';
import { ActiveHealthChecker, OutlierDetector, routableWithPanic } from '@switchyard/health';
import {
  type AttemptContext,
  createExecutor,
  type DispatchedCall,
  type ExecuteOptions,
  type Executor,
  type ExecutorOptions,
  type ExecutorStats,
  type InstanceSource,
} from '@switchyard/resilience';
import type { ClientEvents } from './client-events.ts';
import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_DEPARTED_GRACE_MS,
  DEFAULT_MAX_DEPARTED,
  type ServiceOptions,
} from './client-options.ts';
import { DiscoveryFeed, type DiscoveryFeedOptions } from './discovery-feed.ts';
import { checkInstanceList, type InstanceVeto, RejectionReporter } from './instance-list-check.ts';

const EXECUTOR_EVENTS = [
  'retry',
  'giveUp',
  'breakerOpen',
  'breakerHalfOpen',
  'breakerClose',
  'timeout',
  'bulkheadRejected',
  'budgetExhausted',
  'hedge',
] as const;

/** What a view needs from its client: the registry feed's needs (clock, events) and the host policy. */
export interface ServiceViewDeps extends DiscoveryFeedOptions {
  /** Says why an instance must not be called (a denied host), or undefined. */
  readonly veto?: InstanceVeto;
  /** The caller's own zone, for zone-aware routing. */
  readonly zone?: string | undefined;
}

/** One discovered instance as `client.inspect()` shows it. */
export interface InstanceInspection {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly zone: string | undefined;
  readonly weight: number;
  /** In the snapshot picks are made from (not held out by active health checks). */
  readonly routable: boolean;
  /** Active health checks' verdict; `unchecked` without them. */
  readonly health: 'healthy' | 'unhealthy' | 'unchecked';
  readonly ejected: boolean;
  readonly breaker: 'closed' | 'open' | 'halfOpen';
  readonly inflight: number;
  /** Discovery says it is shutting down (a terminating pod) or dropped it within its grace. */
  readonly draining: boolean;
}

/** One service as `client.inspect()` shows it. */
export interface ServiceInspection {
  readonly service: string;
  /** The strategy's name (`roundRobin`, `peakEwma`…). */
  readonly balancer: string;
  readonly panic: boolean;
  readonly instances: readonly InstanceInspection[];
}

/**
 * Everything the client knows about one service: the discovered instances, their health and
 * ejections, the picker built from them, their load stats and the executor that runs calls.
 * Discovery and health publish a new snapshot; the picker is rebuilt once per snapshot.
 */
export class ServiceView implements InstanceSource {
  readonly service: string;
  readonly load: LoadStats;
  readonly executor: Executor;
  readonly balancer: Balancer;
  /**
   * For the idle timeout: a call sets `used`; each sweep turns a set flag into `usedAt` (clock
   * ms) and clears it, so a view is known to have been used by `usedAt` at the latest.
   */
  usedAt = 0;
  used = false;
  /** Calls waiting for the first list or observed by diagnostics (the executor counts the rest). */
  inflight = 0;

  /** Calls wait on this view or run through its executor: a busy view is never released. */
  get busy(): boolean {
    return this.inflight > 0 || this.executor.activeCalls > 0;
  }

  readonly #deps: ServiceViewDeps;
  readonly #outliers: OutlierDetector | undefined;
  readonly #health: ActiveHealthChecker | undefined;
  readonly #panicThreshold: number;
  readonly #pickContext: PickContext = { hashKey: undefined, excluded: undefined };
  readonly #cleanup: (() => void)[] = [];

  #discovered: readonly ServiceInstance[] | undefined;
  #snapshot: InstanceSnapshot;
  #picker: Picker;
  #version = 0;
  #inPanic = false;
  readonly #feed: DiscoveryFeed;
  #closed = false;
  /** Instances discovery no longer lists but active checks still pass: id → when they left. */
  readonly #departed = new Map<string, number>();
  readonly #departedLimits: { readonly graceMs: number; readonly max: number };
  #departedTimer: TimerHandle | undefined;
  /** Ids the last list gave as not `up` (draining, out of service): never kept as departed. */
  #notUp: ReadonlySet<string> = new Set();
  /** The last list discovery gave, checked. */
  #listed: readonly ServiceInstance[] | undefined;
  readonly #rejections = new RejectionReporter();
  /** Breakers not closed now, by instance id: stats count only those of current instances. */
  readonly #brokenBreakers = new Map<string, 'open' | 'halfOpen'>();
  /** The user's strategy wrapped in priority/zone routing and, if asked, slow start. */
  readonly #effective: Balancer;
  #refreshTimer: TimerHandle | undefined;
  #outerExcluded: (instance: ServiceInstance) => boolean = () => false;

  constructor(service: string, options: ServiceOptions, deps: ServiceViewDeps) {
    this.service = service;
    this.#deps = deps;
    this.balancer = options.balancer ?? roundRobin();
    this.#effective = effectiveBalancer(this.balancer, options, deps);
    this.load = new LoadStats({ decayMs: this.balancer.latencyDecayMs });
    this.#panicThreshold = options.panicThresholdPercent ?? 50;
    this.#departedLimits = {
      graceMs: options.departedGraceMs ?? DEFAULT_DEPARTED_GRACE_MS,
      max: options.maxDeparted ?? DEFAULT_MAX_DEPARTED,
    };
    this.#snapshot = createSnapshot(service, [], 0);
    this.#picker = this.#effective.build(this.#snapshot, { load: this.load });
    this.#feed = new DiscoveryFeed(service, deps, (instances) => this.#apply(instances));

    if (options.outlierDetection !== false) {
      const outliers = new OutlierDetector({ ...options.outlierDetection, clock: deps.clock });
      this.#outliers = outliers;
      this.#cleanup.push(
        outliers.events.on('ejected', (event) => {
          deps.events.emit('ejected', { ...event, service });
          this.#reweigh();
        }),
        outliers.events.on('restored', (event) => {
          deps.events.emit('restored', { ...event, service });
          this.#reweigh();
        }),
        () => outliers.close(),
      );
    }
    if (options.healthCheck) {
      const health = new ActiveHealthChecker({ clock: deps.clock, ...options.healthCheck });
      this.#health = health;
      this.#cleanup.push(
        health.events.on('unhealthy', (event) => {
          deps.events.emit('unhealthy', { ...event, service });
          // A departed instance that fails its check goes now.
          if (this.#departed.has(event.instanceId)) this.#applyListed();
          else this.#publish();
        }),
        health.events.on('healthy', (event) => {
          deps.events.emit('healthy', { ...event, service });
          // An active check that passes ends a passive ejection early (Envoy's uneject rule).
          this.#outliers?.restore(event.instanceId);
          this.#publish();
        }),
      );
    }

    this.executor = createExecutor({
      service,
      retry: options.retry,
      timeoutMs: options.timeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
      deadlineMs: options.deadlineMs,
      circuitBreaker: options.circuitBreaker,
      bulkhead: options.bulkhead,
      retryBudget: options.retryBudget,
      clock: deps.clock,
      // Each attempt's outcome feeds outlier detection: a refused value (HTTP 5xx) or an error
      // that speaks against the instance is a failure; a 4xx or a cancelled attempt is neither.
      onAttemptEnd: this.#outliers && observeOutcome(this.#outliers),
    });
    const broken = this.#brokenBreakers;
    const breakerChanged = (id: string | undefined, state: 'open' | 'halfOpen' | 'closed') => {
      if (id === undefined) return;
      const wasOpen = broken.get(id) === 'open';
      if (state === 'closed') broken.delete(id);
      else broken.set(id, state);
      if (wasOpen !== (state === 'open')) this.#reweigh();
    };
    this.#cleanup.push(
      this.executor.events.on('breakerOpen', (e) => breakerChanged(e.instanceId, 'open')),
      this.executor.events.on('breakerHalfOpen', (e) => breakerChanged(e.instanceId, 'halfOpen')),
      this.executor.events.on('breakerClose', (e) => breakerChanged(e.instanceId, 'closed')),
    );
    for (const name of EXECUTOR_EVENTS) {
      this.#cleanup.push(
        this.executor.events.on(name, (event: object) =>
          deps.events.emit(name, { service, ...event } as ClientEvents[typeof name]),
        ),
      );
    }
  }

  /** The routable instances now (discovered, up, healthy), as the picker sees them. */
  get snapshot(): InstanceSnapshot {
    return this.#snapshot;
  }

  /** Executor counters, with `breakersOpen` counting only instances discovery lists now. */
  stats(): ExecutorStats {
    return { ...this.executor.stats(), breakersOpen: this.#brokenBreakers.size };
  }

  /** Whether a first list has arrived; until then calls wait on `ready()`. */
  get hasInstances(): boolean {
    return this.#feed.hasList;
  }

  /** Resolves once the first list is in; rejects with the registry's error if that fails. */
  ready(signal?: AbortSignal): Promise<void> {
    return this.#feed.ready(signal);
  }

  /** Registries without watch: a background refresh when the list is due. */
  refreshIfDue(): void {
    this.#feed.refreshIfDue();
  }

  /** InstanceSource for the executor: a pick that skips tried, ejected and broken instances. */
  pick(excluded: (instance: ServiceInstance) => boolean, hashKey?: string): ServiceInstance | undefined {
    // Picks are synchronous, so one reusable context per view is safe.
    const context = this.#pickContext;
    this.#outerExcluded = excluded;
    context.hashKey = hashKey;
    context.excluded = this.#excluded;
    const instance = this.#picker.pick(context);
    if (instance !== undefined || !this.#outliers?.ejectedCount) return instance;
    // Everything left is ejected: better an ejected instance than none (Envoy's panic spirit).
    context.excluded = excluded;
    return this.#picker.pick(context);
  }

  /**
   * Runs a call through the executor. Each attempt's outcome also feeds outlier detection:
   * a resolved attempt counts as a success unless `succeeded` says otherwise (HTTP 5xx).
   */
  execute<T>(
    fn: (instance: ServiceInstance, context: AttemptContext) => Promise<T>,
    options: ExecuteOptions<T>,
    hashKey: string | undefined,
  ): Promise<T> {
    return this.executor.execute(this.#sourceFor(hashKey), fn, options);
  }

  /** `execute` in callback form (`Executor.dispatch`). */
  dispatch<T>(call: DispatchedCall<T>, options: ExecuteOptions<T>, hashKey: string | undefined): void {
    this.executor.dispatch(this.#sourceFor(hashKey), call, options);
  }

  #sourceFor(hashKey: string | undefined): InstanceSource {
    return hashKey === undefined
      ? this
      : { load: this.load, pick: (excluded) => this.pick(excluded, hashKey) };
  }

  readonly #excluded = (instance: ServiceInstance): boolean =>
    this.#outerExcluded(instance) || (this.#outliers?.isEjected(instance.id) ?? false);

  /** What this view knows of its service now, for `client.inspect()`. */
  inspect(): ServiceInspection {
    const routable = this.#snapshot.byId;
    const health = this.#health;
    return {
      service: this.service,
      balancer: this.balancer.name,
      panic: this.#inPanic,
      instances: (this.#discovered ?? []).map((instance) => ({
        id: instance.id,
        host: instance.host,
        port: instance.port,
        zone: instance.zone,
        weight: instance.weight ?? 1,
        routable: routable.has(instance.id),
        health: !health ? 'unchecked' : health.state(instance.id) === 'unhealthy' ? 'unhealthy' : 'healthy',
        ejected: this.#outliers?.isEjected(instance.id) ?? false,
        breaker: this.#brokenBreakers.get(instance.id) ?? 'closed',
        inflight: this.load.of(instance).inflight,
        draining: this.#departed.has(instance.id) || instance.metadata?.['k8s.terminating'] === 'true',
      })),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#refreshTimer) this.#deps.clock.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    if (this.#departedTimer) this.#deps.clock.clearTimeout(this.#departedTimer);
    this.#departedTimer = undefined;
    this.#feed.close();
    for (const dispose of this.#cleanup.splice(0)) dispose();
    this.executor.close();
    await this.#health?.close();
  }

  /**
   * The one way a discovered list gets in. It is checked and de-duplicated before anything
   * sees it; the new snapshot and picker are built before any state changes; and if building
   * or a detector still throws, the last good snapshot keeps serving and `updateRejected`
   * says why. Nothing thrown here may reach a registry's watch loop or the event loop.
   */
  #apply(list: readonly ServiceInstance[]): void {
    if (this.#closed) return;
    try {
      if (!Array.isArray(list)) throw new TypeError(`expected an array of instances, got ${typeof list}`);
      const { instances, rejected, notUp } = checkInstanceList(list, this.#deps.veto);
      this.#notUp = notUp;
      this.#rejections.report(rejected, ({ reason, entry }) =>
        this.#deps.events.emit('invalidInstance', { service: this.service, reason, entry }),
      );
      this.#listed = instances;
    } catch (error) {
      this.#rejectUpdate(error, this.#discovered);
      return;
    }
    this.#applyListed();
  }

  /** Applies the last listed instances plus the departed ones still kept. */
  #applyListed(): void {
    const previous = this.#discovered;
    try {
      const discovered = this.#withDeparted(this.#listed ?? []);
      const next = this.#build(discovered);
      this.#health?.update(discovered);
      this.#outliers?.update(discovered);
      this.#discovered = discovered;
      this.load.retain(discovered);
      const ids = new Set(discovered.map((instance) => instance.id));
      this.executor.retain(ids);
      for (const id of this.#brokenBreakers.keys()) if (!ids.has(id)) this.#brokenBreakers.delete(id);
      this.#swap(next);
    } catch (error) {
      this.#rejectUpdate(error, previous);
    }
    this.#scheduleDepartedExpiry();
  }

  /** Keeps the last good state after a list that could not be applied, and says why. */
  #rejectUpdate(error: unknown, previous: readonly ServiceInstance[] | undefined): void {
    try {
      // A detector may have taken the new list before another one threw: give them back the old.
      this.#health?.update(previous ?? []);
      this.#outliers?.update(previous ?? []);
    } catch {
      // The previous list was applied once already; nothing better to restore.
    }
    const reason = error instanceof Error ? error.message : String(error);
    this.#deps.events.emit('updateRejected', {
      service: this.service,
      reason,
      error,
      kept: this.#snapshot.instances.length,
    });
  }

  /** Health changed (ejection, breaker): health-aware routing (zones, priorities, slow start) re-weighs. */
  #reweigh(): void {
    if (this.#discovered !== undefined && !this.#closed) this.#publish();
  }

  /** A picker whose choice drifts with time (slow start) asks to be rebuilt: one timer for it. */
  #scheduleRefresh(afterMs: number | undefined): void {
    const clock = this.#deps.clock;
    if (this.#refreshTimer) clock.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    if (afterMs === undefined || this.#closed) return;
    this.#refreshTimer = clock.setTimeout(() => {
      this.#refreshTimer = undefined;
      this.#reweigh();
    }, afterMs);
  }

  /**
   * Envoy's rule, bounded: an instance that leaves discovery while its active checks still pass
   * keeps serving — discovery is often slower or flakier than the instance — but only for
   * `departedGraceMs` and at most `maxDeparted` of them (the most recent), so that churn cannot
   * pile up departed instances, each with its own check loop, for ever.
   */
  #withDeparted(listed: readonly ServiceInstance[]): ServiceInstance[] {
    const health = this.#health;
    const previous = this.#discovered;
    const { graceMs, max } = this.#departedLimits;
    if (!health || !previous || graceMs <= 0 || max <= 0) {
      this.#departed.clear();
      return [...listed];
    }
    const now = this.#deps.clock.now();
    const ids = new Set(listed.map((instance) => instance.id));
    const kept: { instance: ServiceInstance; since: number }[] = [];
    for (const instance of previous) {
      if (ids.has(instance.id) || this.#notUp.has(instance.id) || health.state(instance.id) !== 'healthy')
        continue;
      const since = this.#departed.get(instance.id) ?? now;
      if (now - since < graceMs) kept.push({ instance, since });
    }
    kept.sort((a, b) => b.since - a.since);
    kept.length = Math.min(kept.length, max);
    this.#departed.clear();
    for (const { instance, since } of kept) this.#departed.set(instance.id, since);
    return [...listed, ...kept.map(({ instance }) => instance)];
  }

  /** One timer for the earliest end of a departed instance's grace. */
  #scheduleDepartedExpiry(): void {
    const clock = this.#deps.clock;
    if (this.#departedTimer) clock.clearTimeout(this.#departedTimer);
    this.#departedTimer = undefined;
    if (this.#closed || this.#departed.size === 0) return;
    const earliest = Math.min(...this.#departed.values());
    const delay = Math.max(0, earliest + this.#departedLimits.graceMs - clock.now());
    this.#departedTimer = clock.setTimeout(() => {
      this.#departedTimer = undefined;
      this.#applyListed();
    }, delay);
  }

  /** Rebuilds the snapshot and picker from discovery + health, with Envoy's panic rule. */
  #publish(): void {
    try {
      this.#swap(this.#build(this.#discovered ?? []));
    } catch (error) {
      this.#rejectUpdate(error, this.#discovered);
    }
  }

  /** The next snapshot and picker, built without changing anything yet. */
  #build(discovered: readonly ServiceInstance[]): Built {
    const health = this.#health;
    let routable = discovered;
    let panic: Built['panic'];
    if (health) {
      const verdict = routableWithPanic(discovered, (i) => health.isRoutable(i.id), this.#panicThreshold);
      routable = verdict.instances;
      panic = { on: verdict.panic, healthy: verdict.healthy, total: discovered.length };
    }
    // Same instances (a re-weigh after an ejection, a slow-start step): same snapshot, new picker.
    const current = this.#snapshot;
    const snapshot = sameInstances(current.instances, routable)
      ? current
      : createSnapshot(this.service, routable, this.#version + 1);
    const picker = this.#effective.build(snapshot, {
      load: this.load,
      previous: this.#picker,
      isHealthy: this.#isHealthy,
    });
    return { snapshot, picker, panic };
  }

  /** Not ejected and breaker not open: what health-aware routing counts as capacity. */
  readonly #isHealthy = (instance: ServiceInstance): boolean =>
    !(this.#outliers?.isEjected(instance.id) ?? false) && this.#brokenBreakers.get(instance.id) !== 'open';

  /** Publishes what `#build` made: the picker swap is atomic for the synchronous picks. */
  #swap({ snapshot, picker, panic }: Built): void {
    const changed = snapshot !== this.#snapshot;
    this.#version = snapshot.version;
    this.#snapshot = snapshot;
    this.#picker = picker;
    this.#scheduleRefresh(picker.refreshAfterMs);
    const events = this.#deps.events;
    if (panic && panic.on !== this.#inPanic) {
      this.#inPanic = panic.on;
      const event = { service: this.service, healthy: panic.healthy, total: panic.total };
      events.emit(panic.on ? 'panic' : 'panicOver', event);
    }
    if (changed)
      events.emit('instancesChanged', {
        service: this.service,
        instances: snapshot.instances,
        version: snapshot.version,
      });
  }
}

/**
 * The strategy calls go through: the user's, inside Envoy's priority levels and zone-aware
 * routing (a no-op for one level and no zone), inside slow start when configured.
 */
function effectiveBalancer(balancer: Balancer, options: ServiceOptions, deps: ServiceViewDeps): Balancer {
  const locality = options.locality === false ? undefined : options.locality;
  let effective =
    options.locality === false ? balancer : localityAware(balancer, { ...locality, localZone: deps.zone });
  if (options.slowStart) effective = slowStart(effective, { ...options.slowStart, clock: deps.clock });
  return effective;
}

interface Built {
  readonly snapshot: InstanceSnapshot;
  readonly picker: Picker;
  readonly panic: { readonly on: boolean; readonly healthy: number; readonly total: number } | undefined;
}

/** The executor's attempt-end hook that feeds an outlier detector. */
function observeOutcome(outliers: OutlierDetector): NonNullable<ExecutorOptions['onAttemptEnd']> {
  return (instance, outcome) => {
    if (outcome.ok) outliers.record(instance, true);
    else if (outcome.countsAgainstInstance) outliers.record(instance, false);
  };
}
