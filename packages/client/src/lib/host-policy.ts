import { BlockList, isIP } from 'node:net';
import { describeValue, ValidationError } from '@switchyard/core';

/**
 * Destinations no registry answer should make the client call: cloud metadata endpoints
 * (169.254.169.254 and the rest of IPv4 link-local, AWS's fd00:ec2::254, GCP's name), the
 * unspecified addresses (0.0.0.0/8, `::`) and IPv6 link-local. A poisoned registry entry
 * pointing there would turn every call into a request to the metadata service.
 */
export const DEFAULT_DENIED_HOSTS: readonly string[] = Object.freeze([
  '169.254.0.0/16',
  '0.0.0.0/8',
  '::',
  'fe80::/10',
  'fd00:ec2::254',
  'metadata.google.internal',
]);

/** Which hosts the client may call: options as users write them. */
export interface HostPolicyOptions {
  /** If set, only these hosts (CIDR ranges, addresses, host name patterns such as `*.svc.cluster.local`). */
  readonly allowedHosts?: readonly string[];
  /** Never these; default `DEFAULT_DENIED_HOSTS`. Setting it replaces the default (`[]` turns it off). */
  readonly deniedHosts?: readonly string[];
}

interface Rule {
  readonly entry: string;
  readonly matches: (host: string, ipFamily: 0 | 4 | 6) => boolean;
}

/**
 * Decides whether an instance's host may be called. Hosts are compared as undici will dial
 * them, after WHATWG URL parsing, so `2852039166`, `0xa9.254.169.254` and
 * `[::ffff:a9fe:a9fe]` are all 169.254.169.254. Deny rules win over allow rules.
 *
 * @example
 * const policy = new HostPolicy({ allowedHosts: ['10.0.0.0/8', '*.svc.cluster.local'] });
 * policy.check('169.254.169.254'); // 'host 169.254.169.254 is denied (deniedHosts entry 169.254.0.0/16)'
 */
export class HostPolicy {
  readonly #allowed: readonly Rule[] | undefined;
  readonly #denied: readonly Rule[];

  constructor(options: HostPolicyOptions = {}) {
    this.#allowed =
      options.allowedHosts === undefined ? undefined : rules(options.allowedHosts, 'allowedHosts');
    this.#denied = rules(options.deniedHosts ?? DEFAULT_DENIED_HOSTS, 'deniedHosts');
  }

  /** Why `host` must not be called, or undefined when it may. */
  check(host: string): string | undefined {
    const normal = normalise(host);
    if (normal === undefined) return `host ${JSON.stringify(host)} is not a valid URL host`;
    const family = isIP(normal) as 0 | 4 | 6;
    for (const rule of this.#denied) {
      if (rule.matches(normal, family)) return `host ${host} is denied (deniedHosts entry ${rule.entry})`;
    }
    if (this.#allowed && !this.#allowed.some((rule) => rule.matches(normal, family))) {
      return `host ${host} is not in allowedHosts`;
    }
    return undefined;
  }
}

/** The host as undici will dial it: URL-normalised, unbracketed, lower case, no trailing dot. */
function normalise(host: string): string | undefined {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let hostname: string;
  try {
    hostname = new URL(`http://${bracketed}/`).hostname;
  } catch {
    return undefined;
  }
  if (hostname.startsWith('[')) hostname = hostname.slice(1, -1);
  return hostname.toLowerCase().replace(/\.$/, '');
}

function rules(entries: readonly string[], field: string): Rule[] {
  if (!Array.isArray(entries)) {
    throw new ValidationError(
      field,
      `expected an array of CIDR ranges, addresses or host names, got ${describeValue(entries)}`,
    );
  }
  return entries.map((entry, index) => rule(entry, `${field}[${index}]`));
}

function rule(entry: unknown, field: string): Rule {
  if (typeof entry !== 'string' || entry.trim() === '') {
    throw new ValidationError(
      field,
      `expected a CIDR range, an address or a host name pattern, got ${describeValue(entry)}`,
    );
  }
  const text = entry.trim().toLowerCase();
  const [address = '', prefixText] = text.split('/');
  const family = isIP(address);
  if (family !== 0) {
    const list = new BlockList();
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) list.addAddress(address, type);
    else {
      const prefix = Number(prefixText);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw new ValidationError(field, `bad prefix length in ${JSON.stringify(entry)}`);
      }
      list.addSubnet(address, prefix, type);
    }
    return {
      entry: text,
      matches: (host, hostFamily) => hostFamily !== 0 && list.check(host, hostFamily === 4 ? 'ipv4' : 'ipv6'),
    };
  }
  if (prefixText !== undefined) throw new ValidationError(field, `bad CIDR range ${JSON.stringify(entry)}`);
  const name = text.replace(/\.$/, '');
  if (name === '*') return { entry: text, matches: () => true };
  if (name.startsWith('*.')) {
    const suffix = name.slice(1); // '.example.com'
    return {
      entry: text,
      matches: (host, f) => f === 0 && host.endsWith(suffix) && host.length > suffix.length,
    };
  }
  if (name.includes('*'))
    throw new ValidationError(
      field,
      `a wildcard may only lead, as in *.example.com; got ${JSON.stringify(entry)}`,
    );
  return { entry: text, matches: (host) => host === name };
}
