import {
  abortReason,
  isUp,
  type Registry,
  type ResolveOptions,
  type ServiceInstance,
  ServiceNotFoundError,
  ValidationError,
  validateInstance,
  validateServiceName,
} from '@switchyard/core';

/**
 * A fixed map from service name to instances, validated once at construction: for local
 * development, tests, and deployments whose peers never move. `resolve` answers the `up`
 * instances; a listed service with no `up` instance answers `[]`, an unlisted one throws
 * ServiceNotFoundError.
 *
 * @example
 * const registry = new StaticRegistry({
 *   users: [{ id: 'users-1', service: 'users', host: '10.0.0.7', port: 8080 }],
 * });
 */
export class StaticRegistry implements Registry {
  readonly #services = new Map<string, readonly ServiceInstance[]>();

  /** @throws ValidationError naming the field, the service and the instance that is wrong. */
  constructor(services: Readonly<Record<string, readonly ServiceInstance[]>>) {
    if (services === null || typeof services !== 'object' || Array.isArray(services)) {
      throw new ValidationError('services', 'expected an object mapping service names to instance lists');
    }
    for (const [service, list] of Object.entries(services)) {
      validateServiceName(service);
      if (!Array.isArray(list)) {
        throw new ValidationError(`${service}`, 'expected an array of instances', { service });
      }
      const seen = new Set<string>();
      const live: ServiceInstance[] = [];
      list.forEach((entry: unknown, index: number) => {
        const instance = validateEntry(service, index, entry);
        if (instance.service !== service) {
          throw new ValidationError(
            `${service}[${index}].service`,
            `instance ${instance.id} says service "${instance.service}" but is listed under "${service}"`,
            { service, instanceId: instance.id },
          );
        }
        if (seen.has(instance.id)) {
          throw new ValidationError(`${service}[${index}].id`, `duplicate instance id "${instance.id}"`, {
            service,
            instanceId: instance.id,
          });
        }
        seen.add(instance.id);
        if (isUp(instance)) live.push(instance);
      });
      this.#services.set(service, Object.freeze(live));
    }
  }

  async resolve(service: string, options: ResolveOptions = {}): Promise<readonly ServiceInstance[]> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const instances = this.#services.get(service);
    if (!instances) throw new ServiceNotFoundError(service);
    return instances;
  }

  /** The list never changes: the listener gets it once. */
  watch(service: string, listener: (instances: readonly ServiceInstance[]) => void): () => void {
    listener(this.#services.get(service) ?? Object.freeze([]));
    return () => {};
  }

  /** Names of the listed services, sorted. */
  services(): string[] {
    return [...this.#services.keys()].sort();
  }
}

function validateEntry(service: string, index: number, entry: unknown): ServiceInstance {
  try {
    return validateInstance(entry);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const id = error.instanceId ?? `#${index}`;
    throw new ValidationError(
      `${service}[${index}].${error.field}`,
      `${error.message.replace(/^invalid [^:]+: /, '')} (service ${service}, instance ${id})`,
      { service, instanceId: error.instanceId, cause: error },
    );
  }
}
