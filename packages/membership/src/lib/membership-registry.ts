import {
  type Registry,
  type RegistryEvents,
  type ResolveOptions,
  type ServiceInstance,
  sameInstances,
  TypedEmitter,
  ValidationError,
  validateServiceName,
} from '@switchyard/core';
import { memberToInstance } from './member-instance.ts';
import type { Membership } from './membership.ts';
import type { Member } from './membership-events.ts';

/**
 * A member whose metadata names a service but does not make a valid instance: core's
 * `invalidInstance` payload (`entry` is the member record) plus the member's id and incarnation.
 */
export interface InvalidMemberEvent {
  readonly service: string;
  readonly reason: string;
  readonly entry: Member;
  readonly memberId: string;
  readonly incarnation: number;
  readonly error: ValidationError;
}

/**
 * Events of a MembershipRegistry, core's `RegistryEvents` (which `ServiceDiscoveryClient`
 * forwards). Only `invalidInstance` occurs: the member list is local, so it never goes stale.
 */
export interface MembershipRegistryEvents extends RegistryEvents {
  invalidInstance: InvalidMemberEvent;
}

export interface MembershipRegistryOptions {
  /** Keep suspect members in the view: SWIM suspects are usually alive (default true). */
  readonly includeSuspect?: boolean;
  /** Close the Membership node too on `close()` (default false). */
  readonly closeMembership?: boolean;
}

/**
 * A Registry over a gossip cluster: the live members whose metadata names a service become that
 * service's instances, and `watch` follows joins, failures, leaves and metadata changes, so
 * `ServiceDiscoveryClient` and every balancer work over a cluster with no registry server.
 *
 * @example
 * const registry = new MembershipRegistry(node);
 * const stop = registry.watch('cache', (instances) => ring.update(instances));
 */
export class MembershipRegistry extends TypedEmitter<MembershipRegistryEvents> implements Registry {
  readonly #membership: Membership;
  readonly #includeSuspect: boolean;
  readonly #closeMembership: boolean;
  readonly #reported = new Set<string>();
  readonly #unsubscribe: Array<() => void> = [];
  readonly #watchers = new Map<string, Set<() => void>>();
  #closed = false;
  #refreshQueued = false;

  constructor(membership: Membership, options: MembershipRegistryOptions = {}) {
    super();
    this.#membership = membership;
    this.#includeSuspect = options.includeSuspect ?? true;
    this.#closeMembership = options.closeMembership ?? false;
    // One merge can change thousands of members at once: rebuild the lists once after it, not per event.
    const refresh = () => {
      if (this.#refreshQueued) return;
      this.#refreshQueued = true;
      queueMicrotask(() => {
        this.#refreshQueued = false;
        if (!this.#closed) this.#refresh();
      });
    };
    for (const event of ['joined', 'updated', 'suspect', 'failed', 'left', 'recovered'] as const) {
      this.#unsubscribe.push(membership.on(event, refresh));
    }
  }

  /** The service's instances among the live members now (empty when none advertises it). */
  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    options.signal?.throwIfAborted();
    validateServiceName(service);
    return this.#instances(service);
  }

  /** Calls `listener` with the current instances, then after every change to them. */
  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    validateServiceName(service);
    let last = this.#instances(service);
    const check = () => {
      const next = this.#instances(service);
      if (sameInstances(last, next)) return;
      last = next;
      listener(next);
    };
    let set = this.#watchers.get(service);
    if (!set) {
      set = new Set();
      this.#watchers.set(service, set);
    }
    set.add(check);
    listener(last);
    return () => {
      set.delete(check);
      if (set.size === 0) this.#watchers.delete(service);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe) off();
    this.#watchers.clear();
    if (this.#closeMembership) await this.#membership.close();
  }

  #refresh(): void {
    for (const set of this.#watchers.values()) for (const check of [...set]) check();
  }

  #instances(service: string): readonly ServiceInstance[] {
    const out: ServiceInstance[] = [];
    for (const member of this.#membership.members()) {
      if (member.state === 'suspect' && !this.#includeSuspect) continue;
      if (member.metadata.service !== service) continue;
      try {
        const instance = memberToInstance(member);
        if (instance) out.push(instance);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        // Report each bad advertisement once, not on every refresh.
        const key = `${member.id}@${member.incarnation}`;
        if (!this.#reported.has(key)) {
          // Bounded under churn: past the cap it forgets, and may report an entry once more.
          if (this.#reported.size >= 10_000) this.#reported.clear();
          this.#reported.add(key);
          this.emit('invalidInstance', {
            service,
            reason: error.message,
            entry: member,
            memberId: member.id,
            incarnation: member.incarnation,
            error,
          });
        }
      }
    }
    return Object.freeze(out);
  }
}
