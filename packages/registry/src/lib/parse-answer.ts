import {
  isUp,
  partitionInstances,
  RegistryProtocolError,
  type RejectedEntry,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
} from '@switchyard/core';
import { RegistrationConflictError, RegistryAccessDeniedError } from './registry-errors.ts';
import type { RegistryAnswer } from './registry-transport.ts';
import { isJsonContentType } from './request-credentials.ts';

/**
 * Turns a resolve answer into instances. Not JSON or not an array → RegistryProtocolError;
 * an invalid entry (or one of another service) is dropped and reported through `onRejected`,
 * one by one, so one broken record never hides the healthy rest.
 */
export function parseInstanceList(
  service: string,
  text: string,
  maxInstances: number,
  onRejected: (rejected: RejectedEntry) => void,
): readonly ServiceInstance[] {
  const body = parseJson(service, text);
  if (!Array.isArray(body)) {
    throw new RegistryProtocolError(`expected a JSON array of instances, got ${kindOf(body)}`, { service });
  }
  // Refused whole, before validating any entry: validation is what stalls the event loop.
  if (body.length > maxInstances) {
    throw new RegistryProtocolError(
      `answer lists ${body.length} entries, more than maxInstances (${maxInstances})`,
      {
        service,
      },
    );
  }
  const { instances, rejected } = partitionInstances(body);
  for (const entry of rejected) onRejected(entry);
  const live: ServiceInstance[] = [];
  instances.forEach((instance) => {
    if (instance.service !== service) {
      const error = new ValidationError('service', `expected "${service}", got "${instance.service}"`, {
        service,
        instanceId: instance.id,
      });
      const index = body.findIndex(
        (entry: { id?: unknown; service?: unknown } | null) =>
          entry?.id === instance.id && entry?.service === instance.service,
      );
      onRejected({ index, entry: body[index], error });
    } else if (isUp(instance)) {
      live.push(instance);
    }
  });
  return Object.freeze(live);
}

/** A JSON array of service names. */
export function parseNameList(text: string): string[] {
  const body = parseJson(undefined, text);
  if (!Array.isArray(body) || !body.every((name) => typeof name === 'string')) {
    throw new RegistryProtocolError(`expected a JSON array of service names, got ${kindOf(body)}`);
  }
  return body;
}

/** The `X-Registry-Index` header as a non-negative integer. */
export function parseIndex(service: string, headers: Headers): number {
  const raw = headers.get('x-registry-index');
  const index = Number(raw);
  if (raw === null || raw.trim() === '' || !Number.isSafeInteger(index) || index < 0) {
    throw new RegistryProtocolError(`missing or bad X-Registry-Index header: ${JSON.stringify(raw)}`, {
      service,
    });
  }
  return index;
}

/** The `{ error, field? }` body of a 4xx answer, as far as it can be read. */
function parseErrorBody(text: string): { error?: string; field?: string } {
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === 'object') {
      const { error, field } = body as { error?: unknown; field?: unknown };
      return {
        ...(typeof error === 'string' ? { error } : {}),
        ...(typeof field === 'string' ? { field } : {}),
      };
    }
  } catch {
    // fall through: a non-JSON error body only loses its detail
  }
  return {};
}

function parseJson(service: string | undefined, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RegistryProtocolError(`answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`, {
      service,
      cause: error,
    });
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array of other things' : typeof value;
}

/**
 * Maps an answer with an unexpected status to its typed error: 404 → ServiceNotFoundError,
 * 400 naming a field → ValidationError, anything else → RegistryProtocolError (5xx never gets
 * here: the transport already made it RegistryUnavailableError).
 */
export function expectStatus(
  answer: RegistryAnswer,
  status: number,
  service: string | undefined,
  instanceId: string | undefined,
): void {
  if (answer.status === status) return;
  const detail = parseErrorBody(answer.text);
  if (answer.status === 404 && !isJsonContentType(answer.headers.get('content-type'))) {
    // A proxy's or another server's 404 page: this URL is not a Switchyard registry.
    throw new RegistryProtocolError(
      `HTTP 404 with ${JSON.stringify(answer.headers.get('content-type') ?? 'no content type')}, not a registry answer: is the url right?`,
      { service, instanceId },
    );
  }
  if (answer.status === 404 && detail.error === undefined) {
    throw new RegistryProtocolError('HTTP 404 without a registry error body: is the url right?', {
      service,
      instanceId,
    });
  }
  if (answer.status === 409) {
    throw new RegistrationConflictError(service ?? '(none)', instanceId ?? '(none)', { cause: detail.error });
  }
  if (answer.status === 401 || answer.status === 403) {
    throw new RegistryAccessDeniedError(answer.status, detail.error ?? 'refused', { service, instanceId });
  }
  if (answer.status === 404) {
    throw new ServiceNotFoundError(service ?? '(none)', { instanceId, cause: detail.error });
  }
  if (answer.status === 400 && detail.field) {
    throw new ValidationError(detail.field, `registry refused: ${detail.error ?? 'bad request'}`, {
      service,
      instanceId,
    });
  }
  throw new RegistryProtocolError(
    `expected HTTP ${status}, got ${answer.status}${detail.error ? `: ${detail.error}` : ''}`,
    { service, instanceId },
  );
}
