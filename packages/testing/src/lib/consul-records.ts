import { ValidationError } from '@switchyard/core';

export type ConsulHealthStatus = 'passing' | 'warning' | 'critical';

export const CONSUL_STATUSES: readonly ConsulHealthStatus[] = Object.freeze([
  'passing',
  'warning',
  'critical',
]);

/**
 * One instance as a test describes it to `mockConsul`. A Switchyard `ServiceInstance` fits as
 * is: `host` becomes `Service.Address`, `metadata` (plus `zone`) becomes `Service.Meta`, `weight`
 * becomes `Weights.Passing` (rounded, at least 1), and a status other than `up` a critical check.
 */
export interface ConsulInstanceInput {
  readonly id: string;
  /** `Service.Address`; `''` means "use the node's address", as Consul allows. */
  readonly host: string;
  readonly port: number;
  /** Defaults to the service name the instance is listed under. */
  readonly service?: string;
  readonly tags?: readonly string[];
  readonly metadata?: Readonly<Record<string, string>>;
  readonly zone?: string;
  readonly weight?: number;
  readonly weights?: { readonly Passing: number; readonly Warning: number };
  readonly status?: string;
  /** Status of the instance's service check (default `passing`, or `critical` when `status` is not `up`). */
  readonly health?: ConsulHealthStatus;
  /** Node name (default: the mock agent's node). */
  readonly node?: string;
  readonly nodeAddress?: string;
  readonly datacenter?: string;
}

/** A health check as the mock stores it; the PascalCase fields are served as they are. */
export interface ConsulCheckRecord {
  readonly CheckID: string;
  readonly Name: string;
  Status: ConsulHealthStatus;
  Notes: string;
  Output: string;
  readonly ServiceID: string;
  readonly ServiceName: string;
  readonly Type: string;
  readonly ttlMs?: number | undefined;
  readonly deregisterAfterMs?: number | undefined;
  readonly CreateIndex: number;
  ModifyIndex: number;
}

/** A registered service instance with its checks. */
export interface ConsulServiceRecord {
  readonly ID: string;
  readonly Service: string;
  readonly Tags: readonly string[];
  readonly Address: string;
  readonly Port: number;
  readonly Meta: Readonly<Record<string, string>>;
  readonly Weights: { readonly Passing: number; readonly Warning: number };
  readonly EnableTagOverride: boolean;
  readonly node: string;
  readonly datacenter: string;
  readonly CreateIndex: number;
  ModifyIndex: number;
  readonly checks: ConsulCheckRecord[];
}

/** The parts of a service record a registration supplies; the catalog adds node and indexes. */
export type ServiceDraft = Omit<ConsulServiceRecord, 'CreateIndex' | 'ModifyIndex' | 'checks'> & {
  readonly checks: readonly CheckDraft[];
  readonly nodeAddress?: string | undefined;
};
export type CheckDraft = Omit<ConsulCheckRecord, 'CreateIndex' | 'ModifyIndex' | 'ServiceID' | 'ServiceName'>;

/** Turns a test's instance description into a draft, with a ValidationError naming a bad field. */
export function draftFromInput(
  serviceName: string,
  input: ConsulInstanceInput,
  defaults: { node: string; datacenter: string },
): ServiceDraft {
  if (input === null || typeof input !== 'object') {
    throw new ValidationError('instance', `expected an object for service ${serviceName}`);
  }
  if (typeof input.id !== 'string' || input.id.length === 0) {
    throw new ValidationError('id', `expected a non-empty string in service ${serviceName}`);
  }
  const context = { service: serviceName, instanceId: input.id };
  if (typeof input.host !== 'string') throw new ValidationError('host', 'expected a string', context);
  if (!Number.isInteger(input.port) || input.port < 0 || input.port > 65535) {
    throw new ValidationError('port', `expected an integer in 0..65535, got ${String(input.port)}`, context);
  }
  if (input.service !== undefined && input.service !== serviceName) {
    throw new ValidationError(
      'service',
      `instance lists service ${input.service} under ${serviceName}`,
      context,
    );
  }
  if (input.health !== undefined && !CONSUL_STATUSES.includes(input.health)) {
    throw new ValidationError(
      'health',
      `expected passing, warning or critical, got ${String(input.health)}`,
      context,
    );
  }
  const meta: Record<string, string> = { ...input.metadata };
  if (input.zone !== undefined && meta.zone === undefined) meta.zone = input.zone;
  const passing = input.weights?.Passing ?? Math.max(1, Math.round(input.weight ?? 1));
  const health =
    input.health ?? (input.status === undefined || input.status === 'up' ? 'passing' : 'critical');
  return {
    ID: input.id,
    Service: serviceName,
    Tags: Object.freeze([...(input.tags ?? [])]),
    Address: input.host,
    Port: input.port,
    Meta: Object.freeze(meta),
    Weights: Object.freeze({ Passing: passing, Warning: input.weights?.Warning ?? 1 }),
    EnableTagOverride: false,
    node: input.node ?? defaults.node,
    nodeAddress: input.nodeAddress,
    datacenter: input.datacenter ?? defaults.datacenter,
    checks: [
      {
        CheckID: `service:${input.id}`,
        Name: `Service '${serviceName}' check`,
        Status: health,
        Notes: '',
        Output: '',
        Type: '',
      },
    ],
  };
}

/** A stable UUID-shaped node ID, so answers are the same from run to run. */
export function nodeId(seed: string): string {
  let h = 2166136261;
  const hex: string[] = [];
  for (let round = 0; round < 4; round++) {
    for (const char of `${seed}#${round}`) h = Math.imul(h ^ char.charCodeAt(0), 16777619) >>> 0;
    hex.push(h.toString(16).padStart(8, '0'));
  }
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
