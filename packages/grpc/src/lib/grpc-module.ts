import type * as GrpcJs from '@grpc/grpc-js';

/**
 * The parts of `@grpc/grpc-js` the resolver uses. Pass your own import when the application
 * resolves a different copy than this package would (the registration must reach the copy
 * that creates your channels).
 */
export interface GrpcModule {
  readonly experimental: {
    readonly registerResolver: (scheme: string, resolverClass: never) => void;
  };
  readonly status: { readonly UNAVAILABLE: number };
  readonly Metadata: new () => GrpcJs.Metadata;
}

/** A load-balancing choice as grpc-js's service config spells it: `{ round_robin: {} }`. */
export type LoadBalancingConfig = Readonly<Record<string, object>>;
