export {
  type Balancer,
  type BuildContext,
  emptyPicker,
  type PickContext,
  type Picker,
} from './lib/balancer.ts';
export { type ConsistentHashOptions, consistentHash } from './lib/consistent-hash.ts';
export { HashRing, type HashRingOptions, type RingMember } from './lib/hash-ring.ts';
export { leastConnections } from './lib/least-connections.ts';
export {
  type LocalityOptions,
  localityAware,
  priorityLoads,
  priorityOf,
  zoneShares,
} from './lib/locality-aware.ts';
export { type MaglevOptions, maglev } from './lib/maglev.ts';
export { MaglevTable } from './lib/maglev-table.ts';
export { murmur3 } from './lib/murmur3.ts';
export { type PeakEwmaOptions, peakEwma } from './lib/peak-ewma.ts';
export { powerOfTwoChoices } from './lib/power-of-two-choices.ts';
export { random } from './lib/random.ts';
export { roundRobin } from './lib/round-robin.ts';
export { type SlowStartOptions, slowStart, slowStartFactor } from './lib/slow-start.ts';
export { weightedRandom } from './lib/weighted-random.ts';
export { weightedRoundRobin } from './lib/weighted-round-robin.ts';
