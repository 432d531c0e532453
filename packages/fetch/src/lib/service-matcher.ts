import { describeValue, ValidationError, validateServiceName } from '@switchyard/core';

/**
 * Which request hosts are services, and which service each one names:
 * - a list of service names (`['users', 'orders']`): exactly those hosts;
 * - `{ suffix: '.svc' }`: hosts ending in the suffix; the service is the host without it
 *   (`users.svc` → `users`);
 * - a function of the hostname returning the service name, or undefined to pass through.
 */
export type ServiceRule =
  | readonly string[]
  | { readonly suffix: string }
  | ((hostname: string) => string | undefined);

/** The service a hostname names, or undefined when the request is not routed. */
export type ServiceMatcher = (hostname: string) => string | undefined;

/**
 * Single-label names (`users`, `orders-api`): public DNS never answers them, so they can only
 * mean a service. `localhost` and IP literals stay untouched.
 */
const SINGLE_LABEL = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;

export function createServiceMatcher(rule: ServiceRule | undefined): ServiceMatcher {
  if (rule === undefined) return matchSingleLabel;
  if (typeof rule === 'function') return matchByFunction(rule);
  if (Array.isArray(rule)) {
    const names = new Set<string>();
    rule.forEach((name, i) => {
      // URL parsing lowercases hostnames: a service with capitals could never match.
      validateServiceName(name, `services[${i}]`);
      names.add(name.toLowerCase());
    });
    return (hostname) => (names.has(hostname) ? hostname : undefined);
  }
  const suffix = (rule as { suffix?: unknown }).suffix;
  if (
    rule === null ||
    typeof rule !== 'object' ||
    typeof suffix !== 'string' ||
    !/^\.[a-z0-9.-]+$/i.test(suffix)
  ) {
    throw new ValidationError(
      'services',
      `expected a list of service names, { suffix: '.svc' } or a function, got ${describeValue(rule)}`,
    );
  }
  const lower = suffix.toLowerCase();
  return (hostname) =>
    hostname.length > lower.length && hostname.endsWith(lower)
      ? hostname.slice(0, hostname.length - lower.length)
      : undefined;
}

function matchSingleLabel(hostname: string): string | undefined {
  return hostname !== 'localhost' && SINGLE_LABEL.test(hostname) && !/^\d+$/.test(hostname)
    ? hostname
    : undefined;
}

function matchByFunction(rule: (hostname: string) => string | undefined): ServiceMatcher {
  return (hostname) => {
    const service = rule(hostname);
    if (service === undefined || service === null || service === '') return undefined;
    return validateServiceName(service, 'services(hostname)');
  };
}
