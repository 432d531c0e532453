export type { DnsRegistryEvents } from './lib/dns-events.ts';
export { type DnsAnswer, type RejectedRecord, ZERO_SRV_WEIGHT } from './lib/dns-lookup.ts';
export type { DnsRegistryOptions } from './lib/dns-options.ts';
export { DnsRegistry } from './lib/dns-registry.ts';
