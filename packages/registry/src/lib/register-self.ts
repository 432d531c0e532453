import {
  type Clock,
  type RegistryWriter,
  rejectUnknownOptions,
  type ServiceInstance,
  ServiceNotFoundError,
  SwitchyardError,
  sleep,
  systemClock,
  TypedEmitter,
  ValidationError,
  validateInstance,
} from '@switchyard/core';
import { type BackoffOptions, jitteredBackoff } from './backoff.ts';
import { validateTimerMs } from './timer-ms.ts';

// A heartbeat more often than this is a misconfiguration that floods the registry.
const MIN_HEARTBEAT_MS = 10;

export interface RegisterSelfOptions {
  /** The registry drops the instance when no heartbeat arrives for this long (at most 2^31-1). */
  readonly ttlMs: number;
  /** Heartbeat period: at least 10 ms and below `ttlMs`. Default `ttlMs / 3` (at least 10 ms). */
  readonly heartbeatMs?: number;
  /** Aborting it is the same as `close()`. */
  readonly signal?: AbortSignal;
  /** Deregister on SIGTERM/SIGINT, then let the signal take its course. Default false. */
  readonly handleSignals?: boolean;
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
}

/** The running registration: `ready` resolves on the first successful register. */
export interface SelfRegistration extends TypedEmitter<SelfRegistrationEvents> {
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Keeps `instance` registered: registers, heartbeats on an unref'd timer, registers again when
 * a heartbeat says the registry forgot it (expired TTL, restarted registry), retries with backoff
 * while the registry is unreachable, and deregisters on `close()`.
 *
 * @example
 * const self = registerSelf(registry, { id: 'users-1', service: 'users', host, port }, { ttlMs: 10_000, handleSignals: true });
 * await self.ready;
 * // … on shutdown:
 * await self.close();
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
  readonly #clock: Clock;
  readonly #backoff;
  readonly #stop = new AbortController();
  readonly #cleanups: Array<() => void> = [];
  readonly #loop: Promise<void>;
  #markReady: () => void = () => {};
  #closing: Promise<void> | undefined;

  constructor(registry: RegistryWriter, instance: ServiceInstance, options: RegisterSelfOptions) {
    super();
    rejectUnknownOptions(
      options,
      ['ttlMs', 'heartbeatMs', 'signal', 'handleSignals', 'backoff', 'closeTimeoutMs', 'clock'],
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

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      for (const cleanup of this.#cleanups.splice(0)) cleanup();
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
    return this.#closing;
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
        void this.close().finally(() => {
          // Our listener replaced Node's default action; once deregistered, let the signal end the
          // process as it would have, unless the application handles it itself.
          if (process.listenerCount(name) === 0) process.kill(process.pid, name);
        });
      };
      process.once(name, handler);
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
