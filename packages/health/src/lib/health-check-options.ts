import { type Clock, systemClock, ValidationError } from '@switchyard/core';
import type { Dispatcher } from 'undici';
import { choiceOption, describe, numberOption } from './options.ts';

/** Which statuses count as healthy: one code, a list, or a predicate. Default: any 2xx. */
export type ExpectedStatus = number | readonly number[] | ((status: number) => boolean);

/**
 * Active health check settings for one service.
 *
 * @example
 * const options: HealthCheckOptions = { type: 'http', path: '/ready', intervalMs: 5000, unhealthyThreshold: 2 };
 */
export interface HealthCheckOptions {
  readonly type: 'http' | 'tcp';
  /** HTTP only; must start with '/'. Default '/health'. */
  readonly path?: string;
  /** Time between the end of one check and the start of the next. Default 10 000 ms. */
  readonly intervalMs?: number;
  /** A check that takes longer fails. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** Successes in a row that make an unhealthy instance healthy. Default 2. */
  readonly healthyThreshold?: number;
  /** Failures in a row that make a healthy (or unknown) instance unhealthy. Default 3. */
  readonly unhealthyThreshold?: number;
  /** Spread of the interval, as a fraction: 0.1 → each wait is 90%..110% of it. Default 0.1. */
  readonly jitter?: number;
  /** HTTP only. Default: any 2xx. */
  readonly expectedStatus?: ExpectedStatus;
  /** HTTP only: a substring or pattern the body must contain. */
  readonly expectedBody?: string | RegExp;
  /** HTTP only: extra request headers (a `host` header, a token…). */
  readonly headers?: Readonly<Record<string, string>>;
  /** HTTP only: bytes read when looking for `expectedBody`. Default 65 536. */
  readonly maxBodyBytes?: number;
  /** Whether instances not checked yet take traffic. Default 'routable'. */
  readonly initialState?: 'routable' | 'unroutable';
  readonly clock?: Clock;
  /** HTTP only: use this dispatcher instead of the checker's own undici Agent (not closed by the checker). */
  readonly dispatcher?: Dispatcher;
  /** Source of randomness for jitter, in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/** HealthCheckOptions with every default filled in and every value checked. */
export interface ResolvedHealthCheckOptions {
  readonly type: 'http' | 'tcp';
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly jitter: number;
  readonly expectedStatus: (status: number) => boolean;
  readonly expectedBody: string | RegExp | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly maxBodyBytes: number;
  readonly initialState: 'routable' | 'unroutable';
  readonly clock: Clock;
  readonly dispatcher: Dispatcher | undefined;
  readonly random: () => number;
}

const MAX_TIMER_MS = 2_147_483_647;

/**
 * Checks every option up front; throws a ValidationError naming the first bad one. The client
 * calls it when it is configured, so a bad setting fails there and not at the first call.
 *
 * @example
 * resolveHealthCheckOptions({ type: 'http', intervalMs: 0 }); // throws: invalid healthCheck.intervalMs
 */
export function resolveHealthCheckOptions(options: HealthCheckOptions): ResolvedHealthCheckOptions {
  if (options === null || typeof options !== 'object') {
    throw new ValidationError('healthCheck', `expected an options object, got ${describe(options)}`);
  }
  const type = choiceOption(options.type, 'healthCheck.type', ['http', 'tcp'] as const, 'http');
  if (options.type === undefined) {
    throw new ValidationError('healthCheck.type', "expected 'http' or 'tcp', got nothing");
  }
  const path = options.path ?? '/health';
  if (typeof path !== 'string' || !path.startsWith('/') || /\s/.test(path)) {
    throw new ValidationError('healthCheck.path', `expected a path starting with '/', got ${describe(path)}`);
  }
  const ms = { min: 1, max: MAX_TIMER_MS };
  const count = { min: 1, max: 1000, integer: true };
  const expectedBody = options.expectedBody;
  if (expectedBody !== undefined && typeof expectedBody !== 'string' && !(expectedBody instanceof RegExp)) {
    throw new ValidationError(
      'healthCheck.expectedBody',
      `expected a string or RegExp, got ${describe(expectedBody)}`,
    );
  }
  if (options.random !== undefined && typeof options.random !== 'function') {
    throw new ValidationError('healthCheck.random', `expected a function, got ${describe(options.random)}`);
  }
  return {
    type,
    path,
    intervalMs: numberOption(options.intervalMs, 'healthCheck.intervalMs', 10_000, ms),
    timeoutMs: numberOption(options.timeoutMs, 'healthCheck.timeoutMs', 2000, ms),
    healthyThreshold: numberOption(options.healthyThreshold, 'healthCheck.healthyThreshold', 2, count),
    unhealthyThreshold: numberOption(options.unhealthyThreshold, 'healthCheck.unhealthyThreshold', 3, count),
    jitter: numberOption(options.jitter, 'healthCheck.jitter', 0.1, { min: 0, max: 1 }),
    expectedStatus: statusMatcher(options.expectedStatus),
    expectedBody,
    headers: headersOption(options.headers),
    maxBodyBytes: numberOption(options.maxBodyBytes, 'healthCheck.maxBodyBytes', 65_536, {
      min: 1,
      integer: true,
    }),
    initialState: choiceOption(
      options.initialState,
      'healthCheck.initialState',
      ['routable', 'unroutable'] as const,
      'routable',
    ),
    clock: options.clock ?? systemClock,
    dispatcher: options.dispatcher,
    random: options.random ?? Math.random,
  };
}

function headersOption(headers: unknown): Readonly<Record<string, string>> | undefined {
  if (headers === undefined) return undefined;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new ValidationError(
      'healthCheck.headers',
      `expected an object of strings, got ${describe(headers)}`,
    );
  }
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') {
      throw new ValidationError(`healthCheck.headers.${name}`, `expected a string, got ${describe(value)}`);
    }
  }
  return Object.freeze({ ...(headers as Record<string, string>) });
}

function statusMatcher(expected: ExpectedStatus | undefined): (status: number) => boolean {
  if (expected === undefined) return (status) => status >= 200 && status < 300;
  if (typeof expected === 'function') return expected;
  const codes = typeof expected === 'number' ? [expected] : expected;
  if (!Array.isArray(codes) || codes.length === 0) {
    throw new ValidationError(
      'healthCheck.expectedStatus',
      `expected a status code, a non-empty list of them, or a predicate, got ${describe(expected)}`,
    );
  }
  for (const code of codes) {
    if (!Number.isInteger(code) || code < 100 || code > 599) {
      throw new ValidationError(
        'healthCheck.expectedStatus',
        `expected status codes in 100..599, got ${describe(code)}`,
      );
    }
  }
  const allowed = new Set<number>(codes);
  return (status) => allowed.has(status);
}
