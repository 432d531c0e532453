import { type Balancer, type PickContext, type Picker, roundRobin } from '@switchyard/balancers';
import {
  createSnapshot,
  type InstanceSnapshot,
  LoadStats,
  type ServiceInstance,
  type TimerHandle,
} from '@switchyard/core';
import { ActiveHealthChecker, OutlierDetector, routableWithPanic } from '@switchyard/health';
import {
  type AttemptContext,
  countsAgainstInstance,
  createExecutor,
  type ExecuteOptions,
  type Executor,
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
  /** When a call last used this view (clock ms), for the idle timeout. */
  usedAt = 0;
  /** Calls running now: a view with calls in flight is never released. */
  inflight = 0;

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
  /** The last list discovery gave, checked. */
  #listed: readonly ServiceInstance[] | undefined;
  readonly #rejections = new RejectionReporter();
  readonly #brokenBreakers = new Set<string>();
  #outerExcluded: (instance: ServiceInstance) => boolean = () => false;

  constructor(service: string, options: ServiceOptions, deps: ServiceViewDeps) {
    this.service = service;
    this.#deps = deps;
    this.balancer = options.balancer ?? roundRobin();
    this.load = new LoadStats({ decayMs: this.balancer.latencyDecayMs });
    this.#panicThreshold = options.panicThresholdPercent ?? 50;
    this.#departedLimits = {
      graceMs: options.departedGraceMs ?? DEFAULT_DEPARTED_GRACE_MS,
      max: options.maxDeparted ?? DEFAULT_MAX_DEPARTED,
    };
    this.#snapshot = createSnapshot(service, [], 0);
    this.#picker = this.balancer.build(this.#snapshot, { load: this.load });
    this.#feed = new DiscoveryFeed(service, deps, (instances) => this.#apply(instances));

    if (options.outlierDetection !== false) {
      const outliers = new OutlierDetector({ ...options.outlierDetection, clock: deps.clock });
      this.#outliers = outliers;
      this.#cleanup.push(
        outliers.events.on('ejected', (event) => deps.events.emit('ejected', { ...event, service })),
        outliers.events.on('restored', (event) => deps.events.emit('restored', { ...event, service })),
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
    });
    // Breakers open now, by instance id: stats count only those of current instances.
    const broken = this.#brokenBreakers;
    this.#cleanup.push(
      this.executor.events.on('breakerOpen', (e) => e.instanceId !== undefined && broken.add(e.instanceId)),
      this.executor.events.on(
        'breakerHalfOpen',
        (e) => e.instanceId !== undefined && broken.add(e.instanceId),
      ),
      this.executor.events.on(
        'breakerClose',
        (e) => e.instanceId !== undefined && broken.delete(e.instanceId),
      ),
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
    options: ExecuteOptions,
    hashKey: string | undefined,
    succeeded?: (value: T) => boolean,
  ): Promise<T> {
    const source: InstanceSource =
      hashKey === undefined ? this : { load: this.load, pick: (excluded) => this.pick(excluded, hashKey) };
    const outliers = this.#outliers;
    if (!outliers) return this.executor.execute(source, fn, options);
    const observed = async (instance: ServiceInstance, context: AttemptContext): Promise<T> => {
      let value: T;
      try {
        value = await fn(instance, context);
      } catch (error) {
        const failed = countsAgainstInstance(error, context.signal);
        if (failed) outliers.record(instance, false);
        throw error;
      }
      outliers.record(instance, succeeded ? succeeded(value) : true);
      return value;
    };
    return this.executor.execute(source, observed, options);
  }

  readonly #excluded = (instance: ServiceInstance): boolean =>
    this.#outerExcluded(instance) || (this.#outliers?.isEjected(instance.id) ?? false);

  async close(): Promise<void> {
    this.#closed = true;
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
      const { instances, rejected } = checkInstanceList(list, this.#deps.veto);
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
      for (const id of this.#brokenBreakers) if (!ids.has(id)) this.#brokenBreakers.delete(id);
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
      if (ids.has(instance.id) || health.state(instance.id) !== 'healthy') continue;
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
    const snapshot = createSnapshot(this.service, routable, this.#version + 1);
    const picker = this.balancer.build(snapshot, { load: this.load, previous: this.#picker });
    return { snapshot, picker, panic };
  }

  /** Publishes what `#build` made: the picker swap is atomic for the synchronous picks. */
  #swap({ snapshot, picker, panic }: Built): void {
    this.#version = snapshot.version;
    this.#snapshot = snapshot;
    this.#picker = picker;
    const events = this.#deps.events;
    if (panic && panic.on !== this.#inPanic) {
      this.#inPanic = panic.on;
      const event = { service: this.service, healthy: panic.healthy, total: panic.total };
      events.emit(panic.on ? 'panic' : 'panicOver', event);
    }
    events.emit('instancesChanged', {
      service: this.service,
      instances: snapshot.instances,
      version: snapshot.version,
    });
  }
}

interface Built {
  readonly snapshot: InstanceSnapshot;
  readonly picker: Picker;
  readonly panic: { readonly on: boolean; readonly healthy: number; readonly total: number } | undefined;
}
