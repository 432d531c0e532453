/**
 * The Switchyard id of a Consul service instance. Consul only requires `Service.ID` to be
 * unique per agent (node), and defaults it to the service name, so ten nodes running `web`
 * answer ten entries with `ID: "web"`. Like Consul's own `UniqueID()`, the id is therefore the
 * node plus the service ID, qualified by namespace and partition when they are not `default`:
 *
 * - `<node>:<Service.ID>`, e.g. `node-1:web`
 * - `<node>@<namespace>:<Service.ID>`, e.g. `node-1@team-a:web`
 * - `<node>@<namespace>.<partition>:<Service.ID>`, e.g. `node-1@team-a.eu:web`
 *
 * In node, namespace and partition `%`, `:`, `@`, `.` (the latter two only where they would
 * be separators) and anything an id may not hold are percent-encoded; in the service ID only
 * `%` and what an id may not hold (`/`, whitespace, control and format characters). The first
 * `:` therefore always ends the node part, so distinct instances never share an id, the same
 * instance always gets the same one, and the id is safe in a URL path once percent-encoded.
 *
 * @example
 * consulInstanceId({ node: 'node-1', serviceId: 'web' }); // 'node-1:web'
 */
export function consulInstanceId(parts: {
  readonly node: string;
  readonly serviceId: string;
  readonly namespace?: string | undefined;
  readonly partition?: string | undefined;
}): string {
  const namespace = isDefault(parts.namespace) ? undefined : parts.namespace;
  const partition = isDefault(parts.partition) ? undefined : parts.partition;
  let qualifier = '';
  if (partition !== undefined)
    qualifier = `@${percentEncode(namespace ?? 'default', TENANCY)}.${percentEncode(partition, TENANCY)}`;
  else if (namespace !== undefined) qualifier = `@${percentEncode(namespace, TENANCY)}`;
  return `${percentEncode(parts.node, NODE)}${qualifier}:${percentEncode(parts.serviceId, SERVICE_ID)}`;
}

// What an instance id may not contain (core's rule), plus '%' so that the encoding is reversible.
const SERVICE_ID = /[%\s/\p{Cc}\p{Cf}\p{Cs}]/gu;
const NODE = /[%:@\s/\p{Cc}\p{Cf}\p{Cs}]/gu;
const TENANCY = /[%:@.\s/\p{Cc}\p{Cf}\p{Cs}]/gu;

function percentEncode(value: string, unsafe: RegExp): string {
  return value.replace(unsafe, (char) => {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x80) return `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
    // A lone surrogate cannot be UTF-8 encoded: write its code unit.
    if (code >= 0xd800 && code <= 0xdfff) return `%u${code.toString(16).toUpperCase()}`;
    return encodeURIComponent(char);
  });
}

function isDefault(value: string | undefined): boolean {
  return value === undefined || value === '' || value === 'default';
}
