import { sameInstances } from './instance-snapshot.ts';
import { type ListenerErrorHandler, reportListenerError } from './listener-errors.ts';
import type { ServiceInstance } from './service-instance.ts';

type Listener = (instances: readonly ServiceInstance[]) => void;

/**
 * The watch listeners of one service and the last list they heard: what every registry
 * adapter's watch needs around its own loop (long poll, stream, timer). A new listener hears
 * the current list on a microtask (so it can use the unsubscribe function `watch` returned);
 * `publish` tells everyone only real changes; a listener that throws stops neither the watch
 * nor the other listeners, and never the process: its error goes to `onListenerError`
 * (default: a process warning).
 *
 * @example
 * const fanout = new WatchFanout();
 * fanout.add((instances) => console.log(instances.length));
 * fanout.publish(answer.instances); // listeners hear it; the same list again is a no-op
 */
export class WatchFanout {
  readonly #listeners = new Set<Listener>();
  readonly #onListenerError: ListenerErrorHandler | undefined;
  #current: readonly ServiceInstance[] | undefined;

  constructor(options: { readonly onListenerError?: ListenerErrorHandler } = {}) {
    this.#onListenerError = options.onListenerError;
  }

  /** How many listeners are attached. */
  get size(): number {
    return this.#listeners.size;
  }

  /** The last published list, frozen; undefined before the first. */
  get current(): readonly ServiceInstance[] | undefined {
    return this.#current;
  }

  add(listener: Listener): void {
    this.#listeners.add(listener);
    const current = this.#current;
    if (current) {
      queueMicrotask(() => {
        // Not if it left meanwhile, nor if a newer list reached it already.
        if (this.#listeners.has(listener) && this.#current === current) this.#notify(listener, current);
      });
    }
  }

  remove(listener: Listener): void {
    this.#listeners.delete(listener);
  }

  /** Stores a frozen copy and notifies every listener, unless the list equals the current one. */
  publish(instances: readonly ServiceInstance[]): boolean {
    if (this.#current && sameInstances(this.#current, instances)) return false;
    const current = Object.isFrozen(instances) ? instances : Object.freeze([...instances]);
    this.#current = current;
    for (const listener of [...this.#listeners]) this.#notify(listener, current);
    return true;
  }

  clear(): void {
    this.#listeners.clear();
  }

  #notify(listener: Listener, instances: readonly ServiceInstance[]): void {
    try {
      listener(instances);
    } catch (error) {
      reportListenerError(this.#onListenerError, error, 'watch');
    }
  }
}
