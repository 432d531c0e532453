import { isUp, type ServiceInstance, ValidationError, validateInstance } from '@switchyard/core';

/** An entry of a discovered list that the client will not route to, and why. */
export interface RejectedInstance {
  /** Identifies the entry across lists, so that it is reported once, not on every poll. */
  readonly key: string;
  readonly reason: string;
  readonly entry: unknown;
}

/** Says why a valid instance must still not be called (a denied host…), or undefined. */
export type InstanceVeto = (instance: ServiceInstance) => string | undefined;

/**
 * Checks a list from discovery before anything uses it: every entry against the instance
 * contract; only `up` ones go on (a `down` entry is news, not an error); then `veto` (the host
 * policy); then ids unique within the list (the first `up` entry of an id wins, so a stale
 * `down` copy never shadows a live one). Never throws for a bad entry: the good rest is
 * returned, the bad ones are listed with their reasons.
 */
export function checkInstanceList(
  entries: readonly unknown[],
  veto?: InstanceVeto,
): { instances: ServiceInstance[]; rejected: RejectedInstance[] } {
  const instances: ServiceInstance[] = [];
  const rejected: RejectedInstance[] = [];
  const byId = new Map<string, ServiceInstance>();
  for (const entry of entries) {
    let instance: ServiceInstance;
    try {
      const clean = validateInstance(entry);
      // Registries hand out frozen, validated values: keep their identity when they are.
      instance = Object.isFrozen(entry) ? (entry as ServiceInstance) : clean;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      rejected.push({ key: `invalid ${keyOf(entry)} ${error.message}`, reason: error.message, entry });
      continue;
    }
    if (!isUp(instance)) continue;
    const vetoed = veto?.(instance);
    if (vetoed !== undefined) {
      rejected.push({ key: `vetoed ${keyOf(instance)} ${vetoed}`, reason: vetoed, entry });
      continue;
    }
    const first = byId.get(instance.id);
    if (first !== undefined) {
      rejected.push({
        key: `duplicate ${keyOf(instance)}`,
        reason: `duplicate id "${instance.id}": ${address(instance)} dropped, ${address(first)} kept`,
        entry,
      });
      continue;
    }
    byId.set(instance.id, instance);
    instances.push(instance);
  }
  return { instances, rejected };
}

function address(instance: ServiceInstance): string {
  return `${instance.host}:${instance.port}`;
}

function keyOf(entry: unknown): string {
  if (entry === null || typeof entry !== 'object') return String(entry);
  const { id, host, port } = entry as Record<string, unknown>;
  return `${String(id)}@${String(host)}:${String(port)}`;
}

/**
 * Reports each rejected entry once while it stays in the lists: a registry polled every
 * second must not repeat the same complaint every second. Holds only the current list's keys.
 */
export class RejectionReporter {
  #reported = new Set<string>();

  /** Calls `report` for the entries not reported in the previous list. */
  report(rejected: readonly RejectedInstance[], report: (rejected: RejectedInstance) => void): void {
    const next = new Set<string>();
    for (const entry of rejected) {
      if (next.has(entry.key)) continue;
      next.add(entry.key);
      if (!this.#reported.has(entry.key)) report(entry);
    }
    this.#reported = next;
  }
}
