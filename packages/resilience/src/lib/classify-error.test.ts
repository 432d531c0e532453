import { CircuitOpenError, NoAvailableInstanceError, TimeoutError } from '@switchyard/core';
import { BrokenCircuitError } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import {
  classifyError,
  MAYBE_REACHED_CODES,
  NEVER_REACHED_CODES,
  parseRetryAfter,
} from './classify-error.ts';
import { netError, statusError } from './fake-source.test-support.ts';

describe('classifyError', () => {
  it.each([...NEVER_REACHED_CODES])('%s never reached the instance: retryable', (code) => {
    expect(classifyError(netError(code))).toMatchObject({ retryable: true, reachedInstance: false });
  });

  it.each([...MAYBE_REACHED_CODES])('%s may have reached the instance: retryable, reached', (code) => {
    expect(classifyError(netError(code))).toMatchObject({ retryable: true, reachedInstance: true });
  });

  it('finds the socket error under fetch’s TypeError("fetch failed")', () => {
    const wrapped = new TypeError('fetch failed', { cause: netError('ECONNREFUSED') });
    expect(classifyError(wrapped)).toMatchObject({ retryable: true, reachedInstance: false });
  });

  it('treats open breakers and missing instances as never reached', () => {
    expect(classifyError(new CircuitOpenError('users', 'users-1')).reachedInstance).toBe(false);
    expect(classifyError(new NoAvailableInstanceError('users')).retryable).toBe(true);
    expect(classifyError(new BrokenCircuitError()).retryable).toBe(true);
  });

  it('retries an attempt timeout but not a call deadline', () => {
    expect(classifyError(new TimeoutError('users', 10, 'attempt'))).toMatchObject({
      retryable: true,
      reachedInstance: true,
    });
    expect(classifyError(new TimeoutError('users', 10, 'call')).retryable).toBe(false);
  });

  it.each([502, 503, 504])('status %i is retryable and reached', (status) => {
    expect(classifyError(statusError(status))).toMatchObject({ retryable: true, reachedInstance: true });
    expect(classifyError({ status })).toMatchObject({ retryable: true, reachedInstance: true });
  });

  it.each([400, 404, 409, 500, 501])('status %i is final', (status) => {
    expect(classifyError(statusError(status)).retryable).toBe(false);
  });

  it('reads Retry-After of a 429 in seconds, from a record or a Headers object', () => {
    expect(classifyError(statusError(429, { 'retry-after': '3' }))).toMatchObject({
      retryable: true,
      reachedInstance: true,
      retryAfterMs: 3000,
    });
    const headers = new Headers({ 'Retry-After': '2' });
    expect(classifyError({ statusCode: 429, headers }).retryAfterMs).toBe(2000);
  });

  it('unknown errors, aborts and non-errors are final and assumed reached (the safe side)', () => {
    expect(classifyError(new Error('boom'))).toMatchObject({ retryable: false, reachedInstance: true });
    expect(classifyError(new DOMException('stop', 'AbortError')).retryable).toBe(false);
    expect(classifyError('a string').retryable).toBe(false);
    expect(classifyError(undefined).retryable).toBe(false);
    expect(classifyError(null).retryable).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('1.5')).toBe(1_500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  it('gives undefined for garbage: "soon", "", "-1", an object', () => {
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
    expect(parseRetryAfter({})).toBeUndefined();
  });
});

describe('status-carrying Switchyard errors and idempotent methods', () => {
  it('classifies a Switchyard error that carries a status (the client’s HttpStatusError) by that status', async () => {
    const { SwitchyardError } = await import('@switchyard/core');
    class StatusError extends SwitchyardError {
      constructor(
        readonly statusCode: number,
        readonly headers: Record<string, string> = {},
      ) {
        super(`HTTP ${statusCode}`, { service: 'users', instanceId: 'u1' });
      }
    }
    expect(classifyError(new StatusError(503))).toMatchObject({ retryable: true, reachedInstance: true });
    expect(classifyError(new StatusError(429, { 'retry-after': '4' })).retryAfterMs).toBe(4000);
    expect(classifyError(new StatusError(400)).retryable).toBe(false);
  });

  it('a nested call’s budget refusal is final even though its cause was retryable', async () => {
    const { RetryBudgetExceededError } = await import('@switchyard/core');
    const nested = new RetryBudgetExceededError('inner', { cause: netError('ECONNREFUSED') });
    expect(classifyError(nested).retryable).toBe(false);
  });

  it('knows which methods are idempotent, in any case', async () => {
    const { isIdempotentMethod } = await import('./idempotency.ts');
    expect(['GET', 'head', 'Options', 'PUT', 'DELETE'].every(isIdempotentMethod)).toBe(true);
    expect(['POST', 'PATCH', 'CONNECT'].some(isIdempotentMethod)).toBe(false);
  });
});
