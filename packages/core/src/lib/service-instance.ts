/** Lifecycle states an instance can report (Eureka's vocabulary). Only `up` instances take traffic. */
export type InstanceStatus = 'up' | 'down' | 'starting' | 'out_of_service' | 'unknown';

export const INSTANCE_STATUSES: readonly InstanceStatus[] = Object.freeze([
  'up',
  'down',
  'starting',
  'out_of_service',
  'unknown',
]);

/**
 * One running copy of a service, as discovery reports it. Instances are immutable values:
 * a change (new weight, new status) arrives as a new object in a new snapshot.
 *
 * @example
 * const users1: ServiceInstance = { id: 'users-1', service: 'users', host: '10.0.0.7', port: 8080 };
 */
export interface ServiceInstance {
  /** Unique within its service. */
  readonly id: string;
  readonly service: string;
  readonly host: string;
  /** 1..65535 */
  readonly port: number;
  /** Speak https to this instance. */
  readonly secure?: boolean;
  /** Finite and > 0; default 1. */
  readonly weight?: number;
  readonly zone?: string;
  /** Default `up`. */
  readonly status?: InstanceStatus;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The weight a balancer should use: the instance's own, or 1. */
export function weightOf(instance: ServiceInstance): number {
  return instance.weight ?? 1;
}

/** Whether discovery considers the instance able to take traffic. */
export function isUp(instance: ServiceInstance): boolean {
  return instance.status === undefined || instance.status === 'up';
}

/** `http://host:port` or `https://…`, with IPv6 hosts bracketed. */
export function originOf(instance: ServiceInstance): string {
  const host =
    instance.host.includes(':') && !instance.host.startsWith('[') ? `[${instance.host}]` : instance.host;
  return `${instance.secure ? 'https' : 'http'}://${host}:${instance.port}`;
}
