import * as grpcJs from '@grpc/grpc-js';
import {
  describeValue,
  type Registry,
  rejectUnknownOptions,
  type ServiceInstance,
  ValidationError,
  validateServiceName,
} from '@switchyard/core';
import type { GrpcModule, LoadBalancingConfig } from './grpc-module.ts';
import { instanceEndpoints } from './instance-endpoints.ts';
import { type AnyResolverListener, type Resolution, tellListener } from './resolution-listener.ts';

export interface SwitchyardResolverOptions {
  /** The target scheme: channels to `switchyard:///users` use this resolver. Default `switchyard`. */
  readonly scheme?: string;
  /**
   * The load-balancing policies the resolver asks for, first supported wins. Default
   * `[{ round_robin: {} }]` (grpc-js would otherwise pick the first address only). `null` leaves
   * the choice to the channel's `grpc.service_config` option.
   */
  readonly loadBalancingConfig?: readonly LoadBalancingConfig[] | null;
  /** The `@grpc/grpc-js` module to register with. Default: the one this package imports. */
  readonly grpc?: GrpcModule;
}

const OPTION_KEYS = ['scheme', 'loadBalancingConfig', 'grpc'];
const DEFAULT_LB: readonly LoadBalancingConfig[] = Object.freeze([Object.freeze({ round_robin: {} })]);

/** The parts of grpc-js's `GrpcUri` the resolver reads. */
interface Target {
  readonly path: string;
}

/**
 * Registers a grpc-js resolver for `switchyard:///<service>` targets, fed by `registry`: it
 * watches the service (or resolves it when the registry cannot watch) and hands every new
 * instance list to the channel, which balances over it with round robin by default.
 * Registering the same scheme again replaces the registry for channels created afterwards.
 *
 * @example
 * registerSwitchyardResolver(registry);
 * const client = new Greeter('switchyard:///greeter', grpc.credentials.createInsecure());
 */
export function registerSwitchyardResolver(
  registry: Registry,
  options: SwitchyardResolverOptions = {},
): void {
  if (registry === null || typeof registry !== 'object' || typeof registry.resolve !== 'function') {
    throw new ValidationError('registry', `expected a Registry, got ${describeValue(registry)}`);
  }
  rejectUnknownOptions(options, OPTION_KEYS, 'registerSwitchyardResolver options');
  const scheme = options.scheme ?? 'switchyard';
  if (typeof scheme !== 'string' || !/^[a-z][a-z0-9+.-]*$/.test(scheme)) {
    throw new ValidationError('scheme', `expected a lowercase URI scheme, got ${describeValue(scheme)}`);
  }
  const lb = options.loadBalancingConfig === undefined ? DEFAULT_LB : options.loadBalancingConfig;
  if (
    lb !== null &&
    (!Array.isArray(lb) || lb.some((entry) => entry === null || typeof entry !== 'object'))
  ) {
    throw new ValidationError('loadBalancingConfig', `expected a list like [{ round_robin: {} }] or null`);
  }
  const grpc = options.grpc ?? (grpcJs as unknown as GrpcModule);
  if (typeof grpc?.experimental?.registerResolver !== 'function') {
    throw new ValidationError(
      'grpc',
      'expected the @grpc/grpc-js module (it has no experimental.registerResolver)',
    );
  }
  grpc.experimental.registerResolver(scheme, resolverClass(registry, grpc, lb) as never);
}

function serviceOf(target: Target): string {
  // `switchyard:///users` and `switchyard:users` both name `users`.
  return validateServiceName(target.path.replace(/^\/+/, ''), 'target');
}

function resolverClass(registry: Registry, grpc: GrpcModule, lb: readonly LoadBalancingConfig[] | null) {
  return class SwitchyardResolver {
    static getDefaultAuthority(target: Target): string {
      return serviceOf(target);
    }

    readonly #service: string;
    readonly #listener: AnyResolverListener;
    #unwatch: (() => void) | undefined;
    #latest: Resolution | undefined;
    #scheduled: NodeJS.Immediate | undefined;
    #destroyed = false;

    constructor(target: Target, listener: AnyResolverListener) {
      this.#service = serviceOf(target);
      this.#listener = listener;
    }

    updateResolution(): void {
      this.#destroyed = false;
      if (typeof registry.watch !== 'function') {
        registry.resolve(this.#service).then(
          (instances) => this.#update(this.#fromInstances(instances)),
          (error: unknown) => this.#update(this.#unavailable(`resolving failed: ${messageOf(error)}`)),
        );
        return;
      }
      if (this.#unwatch !== undefined) {
        // Already watching: the channel asks again after a failure; tell it what we know.
        if (this.#latest !== undefined) this.#schedule();
        return;
      }
      try {
        this.#unwatch = registry.watch(this.#service, (instances) =>
          this.#update(this.#fromInstances(instances)),
        );
      } catch (error) {
        this.#update(this.#unavailable(`watching failed: ${messageOf(error)}`));
      }
    }

    destroy(): void {
      this.#destroyed = true;
      this.#unwatch?.();
      this.#unwatch = undefined;
      if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }

    #update(resolution: Resolution): void {
      if (this.#destroyed) return;
      this.#latest = resolution;
      this.#schedule();
    }

    /** Never synchronously (grpc-js's rule); a burst of changes in one tick is told once. */
    #schedule(): void {
      if (this.#scheduled !== undefined || this.#destroyed) return;
      this.#scheduled = setImmediate(() => {
        this.#scheduled = undefined;
        if (this.#destroyed || this.#latest === undefined) return;
        tellListener(this.#listener, this.#latest, lb);
      });
      this.#scheduled.unref();
    }

    #fromInstances(instances: readonly ServiceInstance[]): Resolution {
      const endpoints = instanceEndpoints(instances);
      if (endpoints.length === 0) return this.#unavailable('no instance is up');
      return { ok: true, endpoints, attributes: { 'switchyard.service': this.#service } };
    }

    #unavailable(detail: string): Resolution {
      return {
        ok: false,
        error: {
          code: grpc.status.UNAVAILABLE,
          details: `${this.#service}: ${detail}`,
          metadata: new grpc.Metadata(),
        },
      };
    }
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
