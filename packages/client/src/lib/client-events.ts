import type { ServiceInstance } from '@switchyard/core';

interface ServiceEvent {
  readonly service: string;
}

interface InstanceEvent extends ServiceEvent {
  readonly instanceId: string;
}

/** Everything a client reports. Subscribe with `client.on(name, listener)`. */
export type ClientEvents = {
  /** A new snapshot of a service's instances was published. */
  instancesChanged: ServiceEvent & {
    readonly instances: readonly ServiceInstance[];
    readonly version: number;
  };
  /** Passive outlier detection took an instance out of rotation, or let it back. */
  ejected: InstanceEvent & {
    readonly instance: ServiceInstance;
    readonly reason: 'consecutiveFailures' | 'successRate' | 'failurePercentage';
    readonly durationMs: number;
    /** Ejections counted against the instance, this one included. */
    readonly times: number;
  };
  restored: InstanceEvent & { readonly instance: ServiceInstance };
  /** Active health checks changed their verdict on an instance (`previous`: the state before). */
  unhealthy: InstanceEvent & {
    readonly instance: ServiceInstance;
    readonly previous: string;
    readonly error?: unknown;
  };
  healthy: InstanceEvent & { readonly instance: ServiceInstance; readonly previous: string };
  /** Too few healthy instances: routing across all of them (Envoy's panic mode), or back to normal. */
  panic: ServiceEvent & { readonly healthy: number; readonly total: number };
  panicOver: ServiceEvent & { readonly healthy: number; readonly total: number };
  /** The registry failed; the last good snapshot keeps serving. */
  registryStale: ServiceEvent & { readonly error: unknown };
  registryRecovered: ServiceEvent & { readonly staleForMs?: number };
  /**
   * An entry of a discovered list was dropped (malformed, a duplicate id, a denied host); the
   * rest were used. Reported once per distinct entry while it stays in the lists.
   */
  invalidInstance: ServiceEvent & { readonly reason: string; readonly entry?: unknown };
  /** A new instance list could not be applied at all; the last good snapshot (`kept` instances) serves on. */
  updateRejected: ServiceEvent & { readonly reason: string; readonly error: unknown; readonly kept: number };
  /** A listener (yours, or a registry watch's) threw; the client carried on. Without a listener here, a process warning. */
  listenerError: { readonly event: string; readonly error: unknown };
  /** Executor events, forwarded per service. */
  retry: ServiceEvent & {
    readonly instanceId?: string;
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: unknown;
  };
  giveUp: ServiceEvent & { readonly instanceId?: string; readonly attempt: number; readonly error: unknown };
  breakerOpen: InstanceEvent & { readonly attempt: number };
  breakerHalfOpen: InstanceEvent & { readonly attempt: number };
  breakerClose: InstanceEvent & { readonly attempt: number };
  /** A hedged attempt started on another instance while the first one was still running. */
  hedge: ServiceEvent & { readonly instanceId?: string; readonly attempt: number };
  timeout: ServiceEvent & {
    readonly instanceId?: string;
    readonly attempt: number;
    readonly scope: 'attempt' | 'call';
    readonly timeoutMs: number;
  };
  bulkheadRejected: ServiceEvent & { readonly attempt: number };
  budgetExhausted: ServiceEvent & {
    readonly instanceId?: string;
    readonly attempt: number;
    readonly error: unknown;
  };
};
