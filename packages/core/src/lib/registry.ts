import type { ServiceInstance } from './service-instance.ts';

export interface ResolveOptions {
  readonly signal?: AbortSignal;
}

/**
 * Where instances come from. `resolve` answers once; `watch`, when the source supports it,
 * pushes every new list (the first call brings the current one) until the returned function
 * is called. Implementations validate what they hand out.
 */
export interface Registry {
  resolve(service: string, options?: ResolveOptions): Promise<readonly ServiceInstance[]>;
  watch?(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void;
  close?(): Promise<void>;
}

/**
 * What a registry may report about its answers. Registries that extend `TypedEmitter` with
 * these events let the client forward them (`client.on('registryStale', …)`).
 */
export interface RegistryEvents {
  [event: string]: unknown;
  /** The source failed; watchers keep the last good list until `registryRecovered`. */
  registryStale: { readonly service: string; readonly error: unknown };
  registryRecovered: { readonly service: string; readonly staleForMs?: number };
  /** One entry of an answer broke the instance contract and was dropped; the rest were used. */
  invalidInstance: { readonly service: string; readonly reason: string; readonly entry?: unknown };
}

export interface RegisterOptions {
  /** Drop the registration when no heartbeat arrives for this long. */
  readonly ttlMs?: number;
  readonly signal?: AbortSignal;
}

/** The writer side a registry offers to services that register themselves. */
export interface RegistryWriter {
  register(instance: ServiceInstance, options?: RegisterOptions): Promise<void>;
  deregister(service: string, id: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Renews the registration. Rejects with ServiceNotFoundError when the registry forgot it. */
  heartbeat(service: string, id: string, options?: { signal?: AbortSignal }): Promise<void>;
}
