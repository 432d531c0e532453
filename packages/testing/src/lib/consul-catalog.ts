import type { Clock, TimerHandle } from '@switchyard/core';
import { ChangeWaiters } from './change-waiters.ts';
import {
  type ConsulCheckRecord,
  type ConsulHealthStatus,
  type ConsulServiceRecord,
  nodeId,
  type ServiceDraft,
} from './consul-records.ts';

/** A node as Consul serves it in `/v1/health/service` answers. */
export interface ConsulNodeRecord {
  readonly ID: string;
  readonly Node: string;
  readonly Address: string;
  readonly Datacenter: string;
  readonly TaggedAddresses: { readonly lan: string; readonly wan: string };
  readonly Meta: Readonly<Record<string, string>>;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/**
 * The state behind `mockConsul`: service records with their checks, Raft-like indexes that
 * grow with every change (per service and for the catalog), TTL checks that turn critical
 * when not renewed in time, and the blocking queries waiting on those indexes.
 */
export class ConsulCatalog {
  readonly waiters: ChangeWaiters;
  readonly #clock: Clock;
  readonly #nodeAddress: string;
  #index = 1;
  #catalogIndex = 1;
  readonly #serviceIndex = new Map<string, number>();
  readonly #records = new Map<string, ConsulServiceRecord>();
  readonly #nodes = new Map<string, ConsulNodeRecord>();
  readonly #timers = new Map<string, TimerHandle>();

  constructor(clock: Clock, nodeAddress: string) {
    this.#clock = clock;
    this.#nodeAddress = nodeAddress;
    this.waiters = new ChangeWaiters(clock);
  }

  /** The index a blocking query on this service compares with (never 0, as in Consul). */
  serviceIndex(name: string): number {
    return this.#serviceIndex.get(name.toLowerCase()) ?? 1;
  }

  get catalogIndex(): number {
    return this.#catalogIndex;
  }

  records(): IterableIterator<ConsulServiceRecord> {
    return this.#records.values();
  }

  node(datacenter: string, name: string): ConsulNodeRecord | undefined {
    return this.#nodes.get(`${datacenter}\0${name}`);
  }

  /** Adds or replaces (same node and ID) a service record. */
  upsert(draft: ServiceDraft): void {
    const index = this.#next();
    const key = recordKey(draft.datacenter, draft.node, draft.ID);
    const previous = this.#records.get(key);
    if (previous) this.#drop(key, previous);
    this.#ensureNode(draft.datacenter, draft.node, draft.nodeAddress, index);
    const { nodeAddress: _unused, checks, ...fields } = draft;
    const record: ConsulServiceRecord = {
      ...fields,
      CreateIndex: previous?.CreateIndex ?? index,
      ModifyIndex: index,
      checks: checks.map((check) => ({
        ...check,
        ServiceID: draft.ID,
        ServiceName: draft.Service,
        CreateIndex: index,
        ModifyIndex: index,
      })),
    };
    this.#records.set(key, record);
    for (const check of record.checks) this.#arm(record, check);
    this.#changed(record.Service, previous?.Service);
  }

  /** Removes the records matching `filter`; returns how many went. */
  remove(filter: (record: ConsulServiceRecord) => boolean): number {
    const gone = [...this.#records].filter(([, record]) => filter(record));
    if (gone.length === 0) return 0;
    this.#next();
    for (const [key, record] of gone) this.#drop(key, record);
    this.#changed(...new Set(gone.map(([, record]) => record.Service)));
    return gone.length;
  }

  /** Sets a check's status (and output); a TTL check's clock restarts. No change, no new index. */
  setCheck(
    record: ConsulServiceRecord,
    check: ConsulCheckRecord,
    status: ConsulHealthStatus,
    output?: string,
  ) {
    const changed = check.Status !== status || (output !== undefined && check.Output !== output);
    if (changed) {
      check.ModifyIndex = this.#next();
      check.Status = status;
      if (output !== undefined) check.Output = output;
    }
    this.#arm(record, check);
    if (changed) this.#changed(record.Service);
  }

  /** Every index goes back to `index`, as after a restore from an old snapshot; blocked queries answer. */
  resetIndex(index: number): void {
    this.#index = index;
    this.#catalogIndex = index;
    for (const name of this.#serviceIndex.keys()) this.#serviceIndex.set(name, index);
    this.waiters.releaseAll();
  }

  close(): void {
    for (const timer of this.#timers.values()) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    this.waiters.releaseAll();
  }

  #next(): number {
    this.#index += 1;
    return this.#index;
  }

  #changed(...services: (string | undefined)[]): void {
    // Keyed lowercased, as Consul matches service names case-insensitively.
    for (const name of services)
      if (name !== undefined) this.#serviceIndex.set(name.toLowerCase(), this.#index);
    this.#catalogIndex = this.#index;
    this.waiters.notify();
  }

  #drop(key: string, record: ConsulServiceRecord): void {
    this.#records.delete(key);
    for (const check of record.checks) this.#disarm(check.CheckID, record);
  }

  /**
   * A TTL check turns critical when not renewed within its TTL; a critical check with
   * DeregisterCriticalServiceAfter takes its service away once that time has passed.
   */
  #arm(record: ConsulServiceRecord, check: ConsulCheckRecord): void {
    this.#disarm(check.CheckID, record);
    const key = `${recordKey(record.datacenter, record.node, record.ID)}\0${check.CheckID}`;
    if (check.Status === 'critical' && check.deregisterAfterMs !== undefined) {
      const timer = this.#clock.setTimeout(() => {
        this.#timers.delete(key);
        this.remove((candidate) => candidate === record);
      }, check.deregisterAfterMs);
      this.#timers.set(key, timer);
    } else if (check.ttlMs !== undefined && check.Status !== 'critical') {
      const timer = this.#clock.setTimeout(() => {
        this.#timers.delete(key);
        this.setCheck(record, check, 'critical', 'TTL expired');
      }, check.ttlMs);
      this.#timers.set(key, timer);
    }
  }

  #disarm(checkId: string, record: ConsulServiceRecord): void {
    const key = `${recordKey(record.datacenter, record.node, record.ID)}\0${checkId}`;
    const timer = this.#timers.get(key);
    if (timer) this.#clock.clearTimeout(timer);
    this.#timers.delete(key);
  }

  #ensureNode(datacenter: string, name: string, address: string | undefined, index: number): void {
    const key = `${datacenter}\0${name}`;
    if (this.#nodes.has(key)) return;
    const ip = address ?? this.#nodeAddress;
    this.#nodes.set(key, {
      ID: nodeId(`${datacenter}/${name}`),
      Node: name,
      Address: ip,
      Datacenter: datacenter,
      TaggedAddresses: Object.freeze({ lan: ip, wan: ip }),
      Meta: Object.freeze({ 'consul-network-segment': '' }),
      CreateIndex: index,
      ModifyIndex: index,
    });
  }
}

function recordKey(datacenter: string, node: string, id: string): string {
  return `${datacenter}\0${node}\0${id}`;
}
