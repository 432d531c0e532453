export type { GrpcModule, LoadBalancingConfig } from './lib/grpc-module.ts';
export type { SwitchyardEndpoint } from './lib/instance-endpoints.ts';
export { registerSwitchyardResolver, type SwitchyardResolverOptions } from './lib/switchyard-resolver.ts';
