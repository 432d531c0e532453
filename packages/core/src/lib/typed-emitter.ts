import { type ListenerErrorHandler, reportListenerError } from './listener-errors.ts';

/** A map from event name to the listener's argument. */
export type EventMap = { [event: string]: unknown };

export type Listener<T> = (event: T) => void;

export interface TypedEmitterOptions {
  /** Told when a listener throws; default: a process warning (`SwitchyardListenerWarning`). */
  readonly onListenerError?: ListenerErrorHandler;
}

/**
 * A small synchronous emitter with typed events. `on` returns the function that removes the
 * listener. A listener that throws stops neither the others nor the emitter's owner, and never
 * the process: the error goes to `onListenerError`, by default a process warning.
 */
export class TypedEmitter<Events extends EventMap> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #onListenerError: ListenerErrorHandler | undefined;

  constructor(options: TypedEmitterOptions = {}) {
    this.#onListenerError = options.onListenerError;
  }

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (value) => {
      off();
      listener(value);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** Whether anyone listens: lets callers skip building an event nobody will read. */
  hasListeners<K extends keyof Events>(event: K): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(value);
      } catch (error) {
        reportListenerError(this.#onListenerError, error, String(event));
      }
    }
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }
}
