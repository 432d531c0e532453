import { CONSUL_STATUSES, type ConsulHealthStatus } from './consul-records.ts';
import { ConsulHttpError } from './consul-registration.ts';
import type { MockRequestInfo } from './mock-transport.ts';

/** Rejects the request unless it carries `token` where Consul looks for one. */
export function authorize(request: MockRequestInfo, token: string | undefined): void {
  if (token === undefined) return;
  const bearer = request.headers.get('authorization')?.replace(/^Bearer\s+/i, '');
  const given = request.headers.get('x-consul-token') ?? bearer ?? request.searchParams.get('token');
  if (given === null || given === undefined || given === '')
    throw new ConsulHttpError(403, 'Permission denied');
  if (given !== token) throw new ConsulHttpError(403, 'ACL not found');
}

export function splitPath(pathname: string): string[] {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new ConsulHttpError(400, `malformed path ${pathname}`);
  }
}

export function parseIndex(text: string | null): number {
  if (text === null) return 0;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new ConsulHttpError(400, 'Invalid index');
  return value;
}

/** Consul's boolean query flags: present without a value means true. */
export function parseBool(params: URLSearchParams, name: string): boolean {
  const text = params.get(name);
  if (text === null) return false;
  if (text === '' || text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new ConsulHttpError(400, `Invalid value for ?${name}`);
}

export function parseUpdate(text: string): { status: ConsulHealthStatus; output: string | undefined } {
  let body: { Status?: unknown; Output?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch (error) {
    throw new ConsulHttpError(400, `Request decode failed: ${(error as Error).message}`);
  }
  if (!CONSUL_STATUSES.includes(body?.Status as ConsulHealthStatus)) {
    throw new ConsulHttpError(400, `Invalid check status: "${String(body?.Status)}"`);
  }
  return {
    status: body.Status as ConsulHealthStatus,
    output: typeof body.Output === 'string' ? body.Output : undefined,
  };
}
