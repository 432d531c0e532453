import { describe, expect, it } from 'vitest';
import { AllAttemptsFailedError, ClientClosedError, SwitchyardError, ValidationError } from './errors.ts';
import { describeValue, rejectUnknownOptions } from './option-keys.ts';

describe('rejectUnknownOptions', () => {
  it('accepts known keys and nothing at all', () => {
    expect(() => rejectUnknownOptions({ url: 'x', timeoutMs: 1 }, ['url', 'timeoutMs'])).not.toThrow();
    expect(() => rejectUnknownOptions(undefined, ['url'])).not.toThrow();
  });

  it('tried { timeout } where timeoutMs is meant: ValidationError suggesting timeoutMs', () => {
    const error = (() => {
      try {
        rejectUnknownOptions({ timeout: 2000 }, ['url', 'timeoutMs', 'retry']);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('timeout');
    expect((error as Error).message).toContain('did you mean timeoutMs?');
  });

  it('prefixes nested fields: retry.attempts suggests retry.maxAttempts', () => {
    expect(() => rejectUnknownOptions({ attempts: 3 }, ['maxAttempts', 'backoff'], 'retry')).toThrow(
      /invalid retry\.attempts: unknown option \(did you mean retry\.maxAttempts\?\)/,
    );
  });

  it('rejects a non-object', () => {
    expect(() => rejectUnknownOptions('x' as unknown as object, ['a'], 'options')).toThrow(ValidationError);
  });
});

describe('describeValue', () => {
  it('prints the type beside the value', () => {
    expect(describeValue('2000')).toBe('"2000" (string)');
    expect(describeValue(Number.NaN)).toBe('NaN (number)');
    expect(describeValue([])).toBe('an array');
    expect(describeValue(undefined)).toBe('nothing');
  });
});

describe('ClientClosedError and AllAttemptsFailedError', () => {
  it('ClientClosedError is a SwitchyardError naming the service', () => {
    const error = new ClientClosedError('users');
    expect(error).toBeInstanceOf(SwitchyardError);
    expect(error.service).toBe('users');
    expect(error.name).toBe('ClientClosedError');
  });

  it('AllAttemptsFailedError names the service, attempts and instances; cause is the last error', () => {
    const last = new Error('connect ECONNREFUSED 127.0.0.1:2');
    const error = new AllAttemptsFailedError('users', [
      { attempt: 1, instanceId: 'a', error: new Error('connect ECONNREFUSED 127.0.0.1:1') },
      { attempt: 2, instanceId: 'b', error: last },
    ]);
    expect(error.service).toBe('users');
    expect(error.instancesTried).toEqual(['a', 'b']);
    expect(error.attempts).toHaveLength(2);
    expect(error.cause).toBe(last);
    expect(error.instanceId).toBe('b');
    expect(error.message).toContain('users: all 2 attempts failed (instances tried: a, b)');
  });
});
