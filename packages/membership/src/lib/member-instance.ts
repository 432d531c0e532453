import { type ServiceInstance, validateInstance } from '@switchyard/core';
import type { MemberRecord } from './member-state.ts';

/** Metadata keys that describe the service instance a member runs; the rest is passed through. */
export const INSTANCE_KEYS = ['service', 'port', 'host', 'weight', 'zone', 'secure', 'status'] as const;

/**
 * The ServiceInstance a member advertises through its metadata (`service`, `port`, optional
 * `host` — default the member's gossip host — `weight`, `zone`, `secure`, `status`), validated by
 * core's `validateInstance`. Undefined when the member names no service; a ValidationError
 * when what it names is not a valid instance. The instance id is the member's name.
 *
 * @example
 * memberToInstance({ id: 'cache-1', host: '10.0.0.7', port: 7946, incarnation: 0, state: 'alive',
 *   metadata: { service: 'cache', port: '6379', zone: 'eu-1' } });
 * // → { id: 'cache-1', service: 'cache', host: '10.0.0.7', port: 6379, zone: 'eu-1' }
 */
export function memberToInstance(member: MemberRecord): ServiceInstance | undefined {
  const meta = member.metadata;
  if (meta.service === undefined) return undefined;
  const rest: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (!(INSTANCE_KEYS as readonly string[]).includes(key)) rest[key] = value;
  }
  return validateInstance({
    id: member.id,
    service: meta.service,
    host: meta.host ?? member.host,
    port: numberOrRaw(meta.port),
    weight: meta.weight === undefined ? undefined : numberOrRaw(meta.weight),
    zone: meta.zone,
    secure:
      meta.secure === undefined
        ? undefined
        : meta.secure === 'true'
          ? true
          : meta.secure === 'false'
            ? false
            : meta.secure,
    status: meta.status,
    metadata: Object.keys(rest).length > 0 ? rest : undefined,
  });
}

// A value that is not a number is handed on as is, so the validation error quotes it.
function numberOrRaw(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
}
