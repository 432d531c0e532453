import type { ConsulCatalog } from './consul-catalog.ts';
import { parseGoDuration } from './consul-duration.ts';
import { authorize, parseBool, parseIndex, parseUpdate, splitPath } from './consul-params.ts';
import type { ConsulHealthStatus } from './consul-records.ts';
import { ConsulHttpError, parseRegistration } from './consul-registration.ts';
import { allPassing, renderHealthEntry } from './consul-render.ts';
import type { MockAnswer, MockRequestInfo } from './mock-transport.ts';

export interface ConsulApiOptions {
  readonly datacenter: string;
  readonly node: string;
  /** When set, every call must carry this ACL token (`X-Consul-Token`, `Authorization: Bearer`, `?token=`). */
  readonly token?: string | undefined;
  /** `X-Consul-LastContact` of stale reads, in ms. */
  readonly lastContactMs: () => number;
  readonly knownLeader: () => boolean;
}

const MAX_WAIT_MS = 600_000;
const DEFAULT_WAIT_MS = 300_000;
const CHECK_VERB: Record<string, ConsulHealthStatus> = { pass: 'passing', warn: 'warning', fail: 'critical' };

/**
 * The subset of Consul's HTTP API a discovery adapter uses, over the mock's catalog, as a plain
 * function of the request. Errors are plain text, as Consul sends them.
 */
export function createConsulApi(catalog: ConsulCatalog, options: ConsulApiOptions) {
  const read = async (
    request: MockRequestInfo,
    indexOf: () => number,
    body: () => unknown,
  ): Promise<MockAnswer> => {
    const params = request.searchParams;
    const stale = params.has('stale');
    if (stale && params.has('consistent')) {
      throw new ConsulHttpError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
    }
    const dc = params.get('dc') || options.datacenter;
    if (![...catalog.records()].some((r) => r.datacenter === dc) && dc !== options.datacenter) {
      throw new ConsulHttpError(500, 'No path to datacenter');
    }
    if (!stale && !options.knownLeader()) throw new ConsulHttpError(500, 'No cluster leader');
    const minIndex = parseIndex(params.get('index'));
    if (minIndex > 0) {
      const waitText = params.get('wait');
      const waitMs = waitText === null ? DEFAULT_WAIT_MS : parseGoDuration(waitText);
      if (waitMs === undefined) throw new ConsulHttpError(400, 'Invalid wait time');
      await catalog.waiters.wait(() => indexOf() > minIndex, Math.min(waitMs, MAX_WAIT_MS), request.signal);
    }
    return {
      status: 200,
      headers: {
        'content-type': 'application/json',
        'x-consul-index': String(indexOf()),
        'x-consul-knownleader': String(options.knownLeader()),
        'x-consul-lastcontact': String(stale ? options.lastContactMs() : 0),
        'x-consul-effective-consistency': stale
          ? 'stale'
          : params.has('consistent')
            ? 'consistent'
            : 'leader',
      },
      body: JSON.stringify(body()),
    };
  };

  // Consul indexes service names lowercased: `Redis` finds `redis`.
  const healthService = (request: MockRequestInfo, name: string) => {
    const params = request.searchParams;
    const dc = params.get('dc') || options.datacenter;
    const passingOnly = parseBool(params, 'passing');
    const tags = params.getAll('tag').map((tag) => tag.toLowerCase());
    return read(
      request,
      () => catalog.serviceIndex(name),
      () =>
        [...catalog.records()]
          .filter((r) => r.Service.toLowerCase() === name.toLowerCase() && r.datacenter === dc)
          .filter((r) => !passingOnly || allPassing(r))
          .filter((r) => tags.every((tag) => r.Tags.some((t) => t.toLowerCase() === tag)))
          .sort((a, b) => (a.node + a.ID < b.node + b.ID ? -1 : 1))
          .map((r) => renderHealthEntry(r, catalog.node(r.datacenter, r.node)!)),
    );
  };

  const catalogServices = (request: MockRequestInfo) => {
    const dc = request.searchParams.get('dc') || options.datacenter;
    return read(
      request,
      () => catalog.catalogIndex,
      () => {
        const services: Record<string, string[]> = {};
        for (const r of catalog.records()) {
          if (r.datacenter !== dc) continue;
          const tags = services[r.Service] ?? [];
          services[r.Service] = tags;
          for (const tag of r.Tags) if (!tags.includes(tag)) tags.push(tag);
        }
        return services;
      },
    );
  };

  const agentCheck = (
    checkId: string,
    status: ConsulHealthStatus,
    output: string | undefined,
  ): MockAnswer => {
    for (const record of catalog.records()) {
      if (record.node !== options.node || record.datacenter !== options.datacenter) continue;
      const check = record.checks.find((c) => c.CheckID === checkId);
      if (!check) continue;
      if (check.Type !== 'ttl')
        throw new ConsulHttpError(500, `CheckID "${checkId}" does not have associated TTL`);
      catalog.setCheck(record, check, status, output);
      return ok();
    }
    throw new ConsulHttpError(
      404,
      `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`,
    );
  };

  const route = async (request: MockRequestInfo): Promise<MockAnswer> => {
    const parts = splitPath(request.pathname);
    // Consul's status endpoints answer without a token; everything else here needs one when ACLs are on.
    if (parts[1] !== 'status') authorize(request, options.token);
    const head = parts.slice(0, 4).join('/');
    const rest = parts.slice(4).join('/');
    const need = (method: string) => {
      if (request.method !== method) throw new ConsulHttpError(405, `method ${request.method} not allowed`);
    };
    if (parts[0] === 'v1' && parts[1] === 'health' && parts[2] === 'service' && parts.length > 3) {
      need('GET');
      return healthService(request, parts.slice(3).join('/'));
    }
    if (head === 'v1/catalog/services' && parts.length === 3) {
      need('GET');
      return catalogServices(request);
    }
    if (parts.join('/') === 'v1/status/leader') {
      need('GET');
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '"127.0.0.1:8300"' };
    }
    if (parts.join('/') === 'v1/agent/service/register') {
      need('PUT');
      catalog.upsert(parseRegistration(request.bodyText, options));
      return ok();
    }
    if (head === 'v1/agent/service/deregister' && rest) {
      need('PUT');
      if (catalog.remove((r) => r.ID === rest && r.node === options.node) === 0) {
        throw new ConsulHttpError(
          404,
          `Unknown service ID "${rest}". Ensure that the service ID is passed, not the service name.`,
        );
      }
      return ok();
    }
    const verb = parts[3] ?? '';
    if (parts[0] === 'v1' && parts[1] === 'agent' && parts[2] === 'check' && rest) {
      need('PUT');
      const status = CHECK_VERB[verb];
      if (status) return agentCheck(rest, status, request.searchParams.get('note') ?? undefined);
      if (verb === 'update') {
        const update = parseUpdate(request.bodyText);
        return agentCheck(rest, update.status, update.output);
      }
    }
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: '404 page not found' };
  };

  return async (request: MockRequestInfo): Promise<MockAnswer> => {
    try {
      return await route(request);
    } catch (error) {
      if (!(error instanceof ConsulHttpError)) throw error;
      return { status: error.status, headers: { 'content-type': 'text/plain' }, body: error.message };
    }
  };
}

function ok(): MockAnswer {
  return { status: 200, headers: {}, body: '' };
}
