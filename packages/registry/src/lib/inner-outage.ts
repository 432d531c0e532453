import { type Registry, SwitchyardError, TypedEmitter } from '@switchyard/core';

/** What an inner registry's outage events look like; checked at run time (any emitter may say `registryStale`). */
type OutageEvents = {
  registryStale: { readonly service?: unknown; readonly error?: unknown } | undefined;
  registryRecovered: { readonly service?: unknown; readonly staleForMs?: unknown } | undefined;
};

export interface OutageHandlers {
  stale(service: string, error: SwitchyardError): void;
  recovered(service: string, staleForMs: number): void;
}

/**
 * Subscribes to the `registryStale` / `registryRecovered` events of a registry that emits them (HttpRegistry
 * does, for its watches). Returns the unsubscribe function, or undefined when the registry
 * emits no events.
 */
export function onInnerOutage(inner: Registry, handlers: OutageHandlers): (() => void) | undefined {
  if (!(inner instanceof TypedEmitter)) return undefined;
  const emitter = inner as TypedEmitter<OutageEvents>;
  const offStale = emitter.on('registryStale', (event) => {
    if (typeof event?.service === 'string' && event.error instanceof SwitchyardError) {
      handlers.stale(event.service, event.error);
    }
  });
  const offRecovered = emitter.on('registryRecovered', (event) => {
    if (typeof event?.service === 'string') {
      handlers.recovered(event.service, typeof event.staleForMs === 'number' ? event.staleForMs : 0);
    }
  });
  return () => {
    offStale();
    offRecovered();
  };
}
