import { type ServiceInstance, ValidationError, validateInstance } from '@switchyard/core';

/**
 * Checks a list handed to `update()`: an array of valid instances with unique ids. Throws a
 * ValidationError naming the bad entry (`instances[2].port`…) before anything changes, so a
 * bad list never half-applies. Returns the ids.
 */
export function validateInstanceList(
  instances: readonly ServiceInstance[],
  field = 'instances',
): Set<string> {
  if (!Array.isArray(instances)) {
    throw new ValidationError(field, 'expected an array of service instances');
  }
  const ids = new Set<string>();
  instances.forEach((instance, index) => {
    try {
      validateInstance(instance);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const detail = error.message.replace(/^invalid [^:]+: /, '');
      throw new ValidationError(`${field}[${index}].${error.field}`, detail, {
        service: error.service,
        instanceId: error.instanceId,
      });
    }
    if (ids.has(instance.id)) {
      throw new ValidationError(`${field}[${index}].id`, `duplicate id "${instance.id}"`, {
        service: instance.service,
        instanceId: instance.id,
      });
    }
    ids.add(instance.id);
  });
  return ids;
}

/** Same address and scheme: a changed one means a new process, whose history starts over. */
export function sameEndpoint(a: ServiceInstance, b: ServiceInstance): boolean {
  return a.host === b.host && a.port === b.port && (a.secure ?? false) === (b.secure ?? false);
}
