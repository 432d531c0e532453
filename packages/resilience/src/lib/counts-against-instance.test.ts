import { CircuitOpenError, NoAvailableInstanceError, TimeoutError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { countsAgainstInstance } from './counts-against-instance.ts';
import { netError, statusError } from './fake-source.test-support.ts';

describe('countsAgainstInstance', () => {
  it.each([
    ['a refused connection', netError('ECONNREFUSED')],
    ['a reset connection', netError('ECONNRESET')],
    ['an unresolvable host', netError('ENOTFOUND')],
    ['a 502', statusError(502)],
    ['a 503', statusError(503)],
    ['a 504', statusError(504)],
    ['an attempt timeout', new TimeoutError('users', 100, 'attempt')],
    ['fetch’s wrapped refusal', new TypeError('fetch failed', { cause: netError('ECONNREFUSED') })],
  ])('%s counts', (_name, error) => {
    expect(countsAgainstInstance(error)).toBe(true);
  });

  it.each([
    ['a 429 (slow down is not broken)', statusError(429, { 'retry-after': '1' })],
    ['a 404', statusError(404)],
    ['a 400', statusError(400)],
    ['an application error', new Error('no such user')],
    ['an abort', new DOMException('stop', 'AbortError')],
    ['a call deadline', new TimeoutError('users', 100, 'call')],
    ['an open breaker', new CircuitOpenError('users', 'users-1')],
    ['no instance', new NoAvailableInstanceError('users')],
  ])('%s does not count', (_name, error) => {
    expect(countsAgainstInstance(error)).toBe(false);
  });

  it('a cancelled attempt never counts, but its own timeout still does', () => {
    expect(countsAgainstInstance(netError('ECONNRESET'), true)).toBe(false);
    expect(countsAgainstInstance(new TimeoutError('users', 100, 'attempt'), true)).toBe(true);
    expect(countsAgainstInstance(netError('ECONNRESET'), AbortSignal.abort())).toBe(false);
    expect(countsAgainstInstance(netError('ECONNRESET'), new AbortController().signal)).toBe(true);
  });

  it('follows a custom classification: againstInstance, else retryable', () => {
    const mine = new Error('mine');
    expect(countsAgainstInstance(mine, false, () => ({ retryable: true, reachedInstance: true }))).toBe(true);
    const classify = () => ({ retryable: true, reachedInstance: true, againstInstance: false });
    expect(countsAgainstInstance(mine, false, classify)).toBe(false);
  });
});
