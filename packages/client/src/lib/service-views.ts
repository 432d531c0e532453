import { type Clock, type TimerHandle, validateServiceName } from '@switchyard/core';
import type { ServiceView } from './service-view.ts';

export interface ServiceViewsOptions {
  readonly clock: Clock;
  /** Views kept at most; beyond it the least recently used idle view is released. */
  readonly maxServices: number;
  /** A view not called for this long (and with no call in flight) is released. */
  readonly idleMs: number;
  readonly create: (service: string) => ServiceView;
}

/**
 * The client's service views, bounded two ways: a least-recently-used cap on how many exist
 * (any number of names — typos, names taken from requests — can never grow memory or open
 * registry watches without bound), and an idle timeout that releases the view and watch of a
 * service nobody calls any more. A view with calls in flight is never released.
 */
export class ServiceViews {
  readonly #options: ServiceViewsOptions;
  /** Insertion order is use order: the first entry is the least recently used. */
  readonly #views = new Map<string, ServiceView>();
  /** The view `use` returned last, the last entry of `#views`; undefined once it leaves the map. */
  #latest: ServiceView | undefined;
  #sweep: TimerHandle | undefined;

  constructor(options: ServiceViewsOptions) {
    this.#options = options;
  }

  /** The view of `service`, created on first use; marks it used now. */
  use(service: string): ServiceView {
    const latest = this.#latest;
    // Most calls go to the view used last: no map lookup, no reordering.
    if (latest !== undefined && latest.service === service) {
      latest.used = true;
      return latest;
    }
    let view = this.#views.get(service);
    if (view === undefined) {
      // Only a name the map does not hold yet is checked: every held one passed already.
      validateServiceName(service);
      this.#evictOverCap();
      view = this.#options.create(service);
      view.usedAt = this.#options.clock.now();
      this.#views.set(service, view);
      this.#scheduleSweep();
    } else {
      // Moves to the end of the order.
      this.#views.delete(service);
      this.#views.set(service, view);
    }
    this.#latest = view;
    // A flag, not a clock read per call: the sweep turns it into a time (a second chance).
    view.used = true;
    return view;
  }

  /**
   * Releases `view` unless it was replaced or has calls in flight. `failed`: its first resolve
   * failed (the registry does not know the service), so every call waiting on it fails too.
   */
  release(view: ServiceView, failed = false): void {
    if (this.#views.get(view.service) !== view || (view.busy && !failed)) return;
    this.#views.delete(view.service);
    if (this.#latest === view) this.#latest = undefined;
    void view.close();
  }

  get size(): number {
    return this.#views.size;
  }

  entries(): IterableIterator<[string, ServiceView]> {
    return this.#views.entries();
  }

  /** Forgets every view and returns them, for the client's close() to close and await. */
  drain(): ServiceView[] {
    if (this.#sweep) this.#options.clock.clearTimeout(this.#sweep);
    this.#sweep = undefined;
    const views = [...this.#views.values()];
    this.#views.clear();
    this.#latest = undefined;
    return views;
  }

  #evictOverCap(): void {
    if (this.#views.size < this.#options.maxServices) return;
    for (const view of this.#views.values()) {
      if (!view.busy) {
        this.release(view);
        return;
      }
    }
    // Every view is busy: the cap yields rather than failing a call; in-flight calls bound it.
  }

  #scheduleSweep(): void {
    if (this.#sweep || this.#views.size === 0) return;
    const { clock, idleMs } = this.#options;
    // Half the idle time between sweeps: a view lives at most 1.5 × idleMs after its last call.
    this.#sweep = clock.setTimeout(() => {
      this.#sweep = undefined;
      const now = clock.now();
      for (const view of [...this.#views.values()]) {
        if (view.used) {
          view.used = false;
          view.usedAt = now;
        } else if (view.usedAt <= now - idleMs) this.release(view);
      }
      this.#scheduleSweep();
    }, idleMs / 2);
  }
}
