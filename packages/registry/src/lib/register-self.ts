import {
  type Clock,
  type RegistryWriter,
  raceAbort,
  rejectUnknownOptions,
  type ServiceInstance,
  ServiceNotFoundError,
  SwitchyardError,
  sleep,
  systemClock,
  type TimerHandle,
  TypedEmitter,
  ValidationError,
  validateInstance,
} from '@switchyard/core';
import { type BackoffOptions, jitteredBackoff } from './backoff.ts';
import { validateTimerMs } from './timer-ms.ts';

// A heartbeat more often than this is a misconfiguration that floods the registry.
const MIN_HEARTBEAT_MS = 10;
// Long enough for long-poll watchers (a few ms) and a fast active check (2-3 failures at 1 s)
// to notice, well inside Kubernetes' default 30 s termination grace period.
const DEFAULT_DRAIN_MS = 5000;

export interface RegisterSelfOptions {
  /** The registry drops the instance when no heartbeat arrives for this long (at most 2^31-1). */
  readonly ttlMs: number;
  /** Heartbeat period: at least 10 ms and below `ttlMs`. Default `ttlMs / 3` (at least 10 ms). */
  readonly heartbeatMs?: number;
  /** Aborting it is the same as `close()`. */
  readonly signal?: AbortSignal;
  /**
   * Drain on SIGTERM/SIGINT (deregister, keep serving `drainMs`), then let the signal take its
   * course unless the application listens to it too. Default false.
   */
  readonly handleSignals?: boolean;
  /**
   * How long `drain()` keeps the process serving after deregistering, while callers' watches
   * and active health checks catch up. 0 … 2^31-1; default 5000.
   */
  readonly drainMs?: number;
  /** Retry pacing while the registry is unreachable (capped at `heartbeatMs`). */
  readonly backoff?: BackoffOptions;
  /** Give up deregistering on close after this long. Default 5 s. */
  readonly closeTimeoutMs?: number;
  readonly clock?: Clock;
}

export interface SelfRegistrationEvents {
  [event: string]: unknown;
  /** Registered (again, after the registry forgot us or came back). */
  registered: { readonly instance: ServiceInstance; readonly count: number };
  heartbeat: { readonly instance: ServiceInstance };
  /** A register/heartbeat/deregister failed; the loop goes on (retrying with backoff). */
  error: { readonly error: SwitchyardError };
  deregistered: { readonly instance: ServiceInstance };
  /** A drain began: `draining` is true from here; the instance is being deregistered. */
  draining: { readonly instance: ServiceInstance; readonly drainMs: number };
  /** The drain window is over (or was cut short by `close()`): close the server now. */
  drained: { readonly instance: ServiceInstance };
}

export interface DrainOptions {
  /**
   * Stops this caller's wait (rejecting with the reason); the drain itself goes on. Already
   * aborted: no drain starts.
   */
  readonly signal?: AbortSignal;
}

/** The running registration: `ready` resolves on the first successful register. */
export interface SelfRegistration extends TypedEmitter<SelfRegistrationEvents> {
  readonly ready: Promise<void>;
  /**
   * True once a drain began (SIGTERM with `handleSignals`, or `drain()`): answer the health
   * endpoint with 503 so that clients with active checks stop calling at once.
   */
  readonly draining: boolean;
  /**
   * Graceful shutdown: stops heartbeats, deregisters, keeps the process serving `drainMs` (on
   * the one timer that holds the process open), then closes the registration and resolves.
   * Idempotent: every call returns the same drain. `close()` during the window ends it early.
   */
  drain(options?: DrainOptions): Promise<void>;
  /** Stops heartbeats and deregisters at once (no drain window); ends a running drain early. */
  close(): Promise<void>;
}

/**
 * Keeps `instance` registered: registers, heartbeats on an unref'd timer, registers again when
 * a heartbeat says the registry forgot it (expired TTL, restarted registry), retries with backoff
 * while the registry is unreachable, and deregisters on `close()`. `drain()` (or SIGTERM with
 * `handleSignals`) deregisters first and keeps serving `drainMs`, so callers stop before the
 * server closes.
 *
 * @example
 * const self = registerSelf(registry, { id: 'users-1', service: 'users', host, port }, { ttlMs: 10_000, handleSignals: true });
 * // in the health endpoint: res.statusCode = self.draining ? 503 : 200;
 * process.once('SIGTERM', async () => {
 *   await self.drain(); // the same drain handleSignals started
 *   server.close();
 * });
 */
export function registerSelf(
  registry: RegistryWriter,
  instance: ServiceInstance,
  options: RegisterSelfOptions,
): SelfRegistration {
  return new SelfRegistrationLoop(registry, validateInstance(instance), options);
}

class SelfRegistrationLoop extends TypedEmitter<SelfRegistrationEvents> implements SelfRegistration {
  readonly ready: Promise<void>;
  readonly #registry: RegistryWriter;
  readonly #instance: ServiceInstance;
  readonly #ttlMs: number;
  readonly #heartbeatMs: number;
  readonly #closeTimeoutMs: number;
  readonly #drainMs: number;
  readonly #clock: Clock;
  readonly #backoff;
  readonly #stop = new AbortController();
  readonly #cleanups: Array<() => void> = [];
  readonly #loop: Promise<void>;
  #markReady: () => void = () => {};
  #closing: Promise<void> | undefined;
  #leaving: Promise<void> | undefined;
  #drain: Promise<void> | undefined;
  /** Ends the drain window early (close() during a drain). */
  #endDrainWindow: (() => void) | undefined;

  constructor(registry: RegistryWriter, instance: ServiceInstance, options: RegisterSelfOptions) {
    super();
    rejectUnknownOptions(
      options,
      ['ttlMs', 'heartbeatMs', 'signal', 'handleSignals', 'drainMs', 'backoff', 'closeTimeoutMs', 'clock'],
      'registerSelf options',
    );
    const ttlMs = validateTimerMs(options?.ttlMs);
    if (ttlMs === undefined) throw new ValidationError('ttlMs', 'required: the registration TTL in ms');
    const heartbeatMs = validateTimerMs(
      options.heartbeatMs ?? Math.max(MIN_HEARTBEAT_MS, ttlMs / 3),
      'heartbeatMs',
    ) as number;
    if (heartbeatMs < MIN_HEARTBEAT_MS || heartbeatMs >= ttlMs) {
      throw new ValidationError(
        'heartbeatMs',
        `expected ${MIN_HEARTBEAT_MS} ms or more and below ttlMs (${ttlMs}), got ${heartbeatMs}`,
      );
    }
    this.#registry = registry;
    this.#instance = instance;
    this.#ttlMs = ttlMs;
    this.#heartbeatMs = heartbeatMs;
    this.#closeTimeoutMs = validateTimerMs(options.closeTimeoutMs ?? 5000, 'closeTimeoutMs') as number;
    // 0 is allowed: deregister and close at once.
    const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
    this.#drainMs = drainMs === 0 ? 0 : (validateTimerMs(drainMs, 'drainMs') as number);
    this.#clock = options.clock ?? systemClock;
    this.#backoff = jitteredBackoff({
      initialMs: Math.min(100, heartbeatMs),
      maxMs: heartbeatMs,
      ...options.backoff,
    });
    this.ready = new Promise((resolve) => (this.#markReady = resolve));
    if (options.signal) this.#onAbort(options.signal);
    if (options.handleSignals) this.#onProcessSignals();
    this.#loop = this.#run();
  }

  get draining(): boolean {
    return this.#drain !== undefined;
  }

  drain(options: DrainOptions = {}): Promise<void> {
    rejectUnknownOptions(options, ['signal'], 'drain options');
    if (options.signal?.aborted) return raceAbort(Promise.resolve(), options.signal); // starts none
    // Closed before any drain: nothing is registered, nothing to wait for.
    if (this.#closing && !this.#drain) return raceAbort(this.#closing, options.signal);
    this.#drain ??= this.#runDrain();
    return raceAbort(this.#drain, options.signal);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const cleanup of this.#cleanups.splice(0)) cleanup();
      this.#endDrainWindow?.();
      await this.#leave();
    })();
    return this.#closing;
  }

  async #runDrain(): Promise<void> {
    this.emit('draining', { instance: this.#instance, drainMs: this.#drainMs });
    // Deregister first: watchers drop the instance while it still answers everything.
    await this.#leave();
    if (this.#drainMs > 0 && !this.#closing) {
      await new Promise<void>((resolve) => {
        const timer: TimerHandle = this.#clock.setTimeout(() => {
          this.#endDrainWindow = undefined;
          resolve();
        }, this.#drainMs);
        // The one timer that keeps the process alive: the drain must run to its end.
        (timer as { ref?: () => unknown }).ref?.();
        this.#endDrainWindow = () => {
          this.#clock.clearTimeout(timer);
          this.#endDrainWindow = undefined;
          resolve();
        };
      });
    }
    await this.close();
    this.emit('drained', { instance: this.#instance });
  }

  /** Stops the heartbeat loop and deregisters, once, for close() and drain() alike. */
  #leave(): Promise<void> {
    this.#leaving ??= (async () => {
      this.#stop.abort();
      await this.#loop;
      try {
        await this.#registry.deregister(this.#instance.service, this.#instance.id, {
          signal: AbortSignal.timeout(this.#closeTimeoutMs),
        });
        this.emit('deregistered', { instance: this.#instance });
      } catch (error) {
        // Not registered (never was, or already expired) is the state close() wants anyway.
        if (!(error instanceof ServiceNotFoundError))
          this.emit('error', { error: typed(error, this.#instance) });
      }
    })();
    return this.#leaving;
  }

  async #run(): Promise<void> {
    const { signal } = this.#stop;
    const { service, id } = this.#instance;
    let registered = false;
    let registrations = 0;
    let failures = 0;
    while (!signal.aborted) {
      let wait = this.#heartbeatMs;
      try {
        if (registered) {
          await this.#registry.heartbeat(service, id, { signal });
          this.emit('heartbeat', { instance: this.#instance });
        } else {
          await this.#registry.register(this.#instance, { ttlMs: this.#ttlMs, signal });
          registered = true;
          this.emit('registered', { instance: this.#instance, count: ++registrations });
          this.#markReady();
        }
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ServiceNotFoundError && registered) {
          registered = false; // the registry forgot us: register again right away
          wait = 0;
        } else {
          wait = this.#backoff.delay(failures++);
        }
        this.emit('error', { error: typed(error, this.#instance) });
      }
      if (wait > 0) {
        try {
          await sleep(wait, signal, this.#clock);
        } catch {
          return; // closed
        }
      }
    }
  }

  #onAbort(signal: AbortSignal): void {
    const onAbort = () => void this.close();
    if (signal.aborted) {
      queueMicrotask(onAbort);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.#cleanups.push(() => signal.removeEventListener('abort', onAbort));
  }

  #onProcessSignals(): void {
    for (const name of ['SIGTERM', 'SIGINT'] as const) {
      const handler = () => {
        // Asked now, while the signal is being delivered: an application listener added with
        // once() is gone by the time the drain ends. Prepended, ours runs before any of theirs.
        const appListens = process.listeners(name).some((listener) => listener !== handler);
        void this.drain().finally(() => {
          // Our listener replaced Node's default action; once drained, let the signal end the
          // process as it would have, unless the application handles it itself.
          if (!appListens && process.listenerCount(name) === 0) process.kill(process.pid, name);
        });
      };
      process.prependOnceListener(name, handler);
      this.#cleanups.push(() => process.off(name, handler));
    }
  }
}

function typed(error: unknown, instance: ServiceInstance): SwitchyardError {
  if (error instanceof SwitchyardError) return error;
  return new SwitchyardError(`self-registration of ${instance.id} failed`, {
    service: instance.service,
    instanceId: instance.id,
    cause: error,
  });
}
