// The public API: the node, its registry view, keys, transports and the simulation kit for tests.
// Protocol internals (codec, queues, suspicion, awareness) stay inside the package.
export {
  type DropReason,
  MembershipClosedError,
  MembershipDecodeError,
  MembershipJoinError,
} from './lib/errors.ts';
export { Keyring } from './lib/keyring.ts';
export type { MemberClaim, MemberRecord, MemberState } from './lib/member-state.ts';
export { Membership } from './lib/membership.ts';
export type {
  DroppedPacket,
  Member,
  MemberEvent,
  MembershipEvents,
  NameConflict,
} from './lib/membership-events.ts';
export {
  type InvalidMemberEvent,
  MembershipRegistry,
  type MembershipRegistryEvents,
  type MembershipRegistryOptions,
} from './lib/membership-registry.ts';
export { MemoryNetwork, type MemoryNetworkOptions } from './lib/memory-network.ts';
export { createNetTransport, type NetTransportOptions } from './lib/net-transport.ts';
export type { MembershipOptions } from './lib/options.ts';
export { UNENCRYPTED_GOSSIP_WARNING } from './lib/security-warning.ts';
export { SimulatedCluster, type SimulatedClusterOptions, seededRandom } from './lib/simulated-cluster.ts';
export type { MembershipStats } from './lib/stats.ts';
export {
  type Address,
  formatAddress,
  type PacketHandler,
  parseAddress,
  type RequestOptions,
  type StreamHandler,
  type Transport,
} from './lib/transport.ts';
