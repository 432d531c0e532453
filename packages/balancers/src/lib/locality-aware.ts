import { createSnapshot, type InstanceSnapshot, type ServiceInstance } from '@switchyard/core';
import { type Balancer, type BuildContext, emptyPicker, type PickContext, type Picker } from './balancer.ts';
import { randomFraction } from './fast-random.ts';

/** Options of {@link localityAware}. */
export interface LocalityOptions {
  /** The caller's own zone. Without it, zones are ignored and only priorities apply. */
  readonly localZone?: string | undefined;
  /** Zone-aware routing needs at least this many healthy instances in the level (Envoy: 6). */
  readonly minClusterSize?: number;
  /** Envoy's overprovisioning factor: a level keeps all traffic while ≥ 1/1.4 ≈ 71 % healthy. */
  readonly overprovisioningFactor?: number;
  /** Metadata key of an instance's priority: an integer ≥ 0, 0 the most preferred. Default `priority`. */
  readonly priorityKey?: string;
}

/** The integer priority of an instance (metadata `priority`, default 0; anything malformed is 0). */
export function priorityOf(instance: ServiceInstance, key = 'priority'): number {
  const raw = instance.metadata?.[key];
  if (raw === undefined) return 0;
  const value = Number(raw);
  return Number.isInteger(value) && value >= 0 && value <= 1_000 ? value : 0;
}

interface Zone {
  readonly name: string;
  readonly picker: Picker;
  readonly total: number;
  readonly healthy: number;
}

interface Level {
  readonly priority: number;
  /** Every instance of the level: the fallback, and the picker when zones don't apply. */
  readonly all: Picker;
  readonly zones: readonly Zone[];
  /** Cumulative probability of each zone; empty when the level does not route by zone. */
  readonly zoneCdf: Float64Array;
  readonly total: number;
  readonly healthy: number;
}

/** Pickers are keyed by level and zone so that each carries its state (rotation…) forward. */
type PickerKey = string;

class LocalityPicker implements Picker {
  readonly levels: readonly Level[];
  readonly levelCdf: Float64Array;
  readonly byKey: ReadonlyMap<PickerKey, Picker>;

  constructor(levels: readonly Level[], levelCdf: Float64Array, byKey: ReadonlyMap<PickerKey, Picker>) {
    this.levels = levels;
    this.levelCdf = levelCdf;
    this.byKey = byKey;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const levels = this.levels;
    // The common case, one level and no zones: the strategy's own pick, no draw.
    if (levels.length === 1 && levels[0]!.zoneCdf.length === 0) return levels[0]!.all.pick(context);
    const chosen = draw(this.levelCdf, randomFraction());
    const level = levels[chosen]!;
    let instance: ServiceInstance | undefined;
    if (level.zoneCdf.length > 0) {
      instance = level.zones[draw(level.zoneCdf, randomFraction())]!.picker.pick(context);
    }
    instance ??= level.all.pick(context);
    if (instance !== undefined) return instance;
    // Everything there is excluded (tried, ejected, open): any other level, most preferred first.
    for (let i = 0; i < levels.length; i++) {
      if (i === chosen) continue;
      instance = levels[i]!.all.pick(context);
      if (instance !== undefined) return instance;
    }
    return undefined;
  }
}

/** The index whose cumulative probability first exceeds `r`. */
function draw(cdf: Float64Array, r: number): number {
  const last = cdf.length - 1;
  for (let i = 0; i < last; i++) if (r < cdf[i]!) return i;
  return last;
}

/**
 * Envoy's priority levels and zone-aware routing around any strategy.
 *
 * **Priorities** (metadata `priority`, 0 first): a level's health is min(100 %, 1.4 × its
 * healthy share); level 0 takes that much of the traffic, the next level the rest up to its own
 * health, and so on; when the levels' health sums below 100 % the loads are scaled up in
 * proportion. So level 0 keeps everything while ≥ 71 % healthy, then spills gradually.
 *
 * **Zones** (`localZone` set): within a level, the local zone keeps all traffic while its share
 * of the level's healthy instances is at least its share of all the level's instances (callers
 * are assumed spread across zones as instances are); otherwise it keeps the fraction it can take
 * and the rest spills to the other zones in proportion to their spare healthy capacity. Off
 * below `minClusterSize` healthy instances; a zone with no healthy instance gets nothing.
 *
 * "Healthy" is what `BuildContext.isHealthy` says (not ejected, breaker not open); the client
 * rebuilds the picker when that changes. The inner strategy runs within the chosen zone, and a
 * pick that finds everything there excluded falls back to the level, then to other levels.
 *
 * @example
 * const balancer = localityAware(leastConnections(), { localZone: 'eu-west-1a' });
 */
export function localityAware(inner: Balancer, options: LocalityOptions = {}): Balancer {
  const minClusterSize = options.minClusterSize ?? 6;
  const factor = options.overprovisioningFactor ?? 1.4;
  const priorityKey = options.priorityKey ?? 'priority';
  const localZone = options.localZone;
  return Object.freeze({
    name: `${inner.name}+locality`,
    ...(inner.requiresHashKey ? { requiresHashKey: true } : {}),
    ...(inner.latencyDecayMs === undefined ? {} : { latencyDecayMs: inner.latencyDecayMs }),
    build(snapshot: InstanceSnapshot, context: BuildContext): Picker {
      if (snapshot.instances.length === 0) return emptyPicker;
      const previous = context.previous instanceof LocalityPicker ? context.previous.byKey : undefined;
      const byKey = new Map<PickerKey, Picker>();
      const sub = (key: PickerKey, instances: readonly ServiceInstance[]): Picker => {
        // A group holding every instance is the snapshot itself: no copy.
        const group =
          instances.length === snapshot.instances.length
            ? snapshot
            : createSnapshot(snapshot.service, instances, snapshot.version);
        const picker = inner.build(group, {
          ...context,
          previous: previous?.get(key),
        });
        byKey.set(key, picker);
        return picker;
      };
      const isHealthy = context.isHealthy ?? (() => true);

      const grouped = new Map<number, ServiceInstance[]>();
      for (const instance of snapshot.instances) {
        const priority = priorityOf(instance, priorityKey);
        const list = grouped.get(priority) ?? [];
        list.push(instance);
        grouped.set(priority, list);
      }
      const levels: Level[] = [...grouped.keys()]
        .sort((a, b) => a - b)
        .map((priority) => {
          const instances = grouped.get(priority) ?? [];
          const healthy = instances.filter(isHealthy).length;
          const all = sub(`${priority}`, instances);
          const zoneCdf = new Float64Array(0);
          if (localZone === undefined)
            return { priority, all, zones: [], zoneCdf, total: instances.length, healthy };
          const zones = zonesOf(instances, isHealthy, (name, members) => sub(`${priority}/${name}`, members));
          const shares = zoneShares(zones, localZone, minClusterSize);
          return {
            priority,
            all,
            zones,
            zoneCdf: shares ? cumulative(shares) : zoneCdf,
            total: instances.length,
            healthy,
          };
        });
      return new LocalityPicker(levels, cumulative(priorityLoads(levels, factor)), byKey);
    },
  });
}

function zonesOf(
  instances: readonly ServiceInstance[],
  isHealthy: (instance: ServiceInstance) => boolean,
  build: (name: string, members: readonly ServiceInstance[]) => Picker,
): Zone[] {
  const byZone = new Map<string, ServiceInstance[]>();
  for (const instance of instances) {
    const name = instance.zone ?? '';
    const list = byZone.get(name) ?? [];
    list.push(instance);
    byZone.set(name, list);
  }
  return [...byZone.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, members]) => ({
      name,
      picker: build(name, members),
      total: members.length,
      healthy: members.filter(isHealthy).length,
    }));
}

/**
 * Envoy's zone-aware split of one level, or undefined when it does not apply (one zone, no
 * local instance, too few healthy instances) and the level's own picker spreads the traffic.
 */
export function zoneShares(
  zones: readonly { readonly name: string; readonly total: number; readonly healthy: number }[],
  localZone: string,
  minClusterSize: number,
): number[] | undefined {
  const local = zones.findIndex((zone) => zone.name === localZone);
  const total = zones.reduce((sum, zone) => sum + zone.total, 0);
  const healthy = zones.reduce((sum, zone) => sum + zone.healthy, 0);
  if (zones.length < 2 || local < 0 || healthy < minClusterSize || healthy === 0) return undefined;
  const expected = zones.map((zone) => zone.total / total);
  const actual = zones.map((zone) => zone.healthy / healthy);
  const shares = zones.map(() => 0);
  const localExpected = expected[local] as number;
  const localActual = actual[local] as number;
  if (localActual >= localExpected) {
    shares[local] = 1;
    return shares;
  }
  const keep = localActual / localExpected;
  shares[local] = keep;
  let residualSum = 0;
  const residual = zones.map((_, i) =>
    i === local ? 0 : Math.max(0, (actual[i] as number) - (expected[i] as number)),
  );
  for (const value of residual) residualSum += value;
  let otherHealthy = 0;
  for (let i = 0; i < zones.length; i++) if (i !== local) otherHealthy += actual[i] as number;
  for (let i = 0; i < zones.length; i++) {
    if (i === local) continue;
    const part =
      residualSum > 0
        ? (residual[i] as number) / residualSum
        : otherHealthy > 0
          ? (actual[i] as number) / otherHealthy
          : 0;
    shares[i] = (1 - keep) * part;
  }
  return shares;
}

/**
 * Envoy's priority loads: health_p = min(1, factor × healthy_p / total_p); each level takes its
 * health of what is left, after scaling by the levels' total health when that is below 1. All
 * levels without a healthy instance: everything to level 0 (the client's panic rules apply).
 */
export function priorityLoads(
  levels: readonly { readonly total: number; readonly healthy: number }[],
  factor: number,
): number[] {
  const health = levels.map((level) =>
    level.total === 0 ? 0 : Math.min(1, (factor * level.healthy) / level.total),
  );
  const normalized = Math.min(
    1,
    health.reduce((sum, h) => sum + h, 0),
  );
  if (normalized === 0) return levels.map((_, i) => (i === 0 ? 1 : 0));
  let remaining = 1;
  return health.map((h) => {
    const load = Math.min(h / normalized, remaining);
    remaining -= load;
    return load;
  });
}

function cumulative(shares: readonly number[]): Float64Array {
  const cdf = new Float64Array(shares.length);
  let sum = 0;
  for (let i = 0; i < shares.length; i++) {
    sum += shares[i] as number;
    cdf[i] = sum;
  }
  // Guard against rounding: the last bucket closes at 1 (and a zero-share tail is never drawn).
  return cdf;
}
