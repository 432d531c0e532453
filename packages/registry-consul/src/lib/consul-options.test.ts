import { ManualClock, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { type ConsulRegistryOptions, resolveConsulOptions } from './consul-options.ts';
import { ConsulRegistry } from './consul-registry.ts';

function errorOf(build: () => unknown): ValidationError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}
const options = (value: unknown) => value as ConsulRegistryOptions;

describe('ConsulRegistry options', () => {
  it('applies defaults, including the answer limits', () => {
    const clock = new ManualClock();
    expect(resolveConsulOptions({ url: 'http://127.0.0.1:8500/', clock })).toMatchObject({
      url: 'http://127.0.0.1:8500',
      waitMs: 30_000,
      maxResponseBytes: 16 * 1024 * 1024,
      maxInstances: 10_000,
      clock,
    });
  });

  it('missing options name the required field, never a TypeError', () => {
    // Tried: no argument at all (plain JavaScript), then an object without url.
    const Consul = ConsulRegistry as unknown as new (options?: unknown) => ConsulRegistry;
    expect(errorOf(() => new Consul()).field).toBe('url');
    expect(errorOf(() => new Consul({})).field).toBe('url');
    expect(errorOf(() => new Consul(null)).field).toBe('options');
    expect(errorOf(() => new Consul('http://127.0.0.1:8500')).message).toMatch(/\(string\)/);
  });

  it('refuses unknown keys and suggests the right name', () => {
    const error = errorOf(() => resolveConsulOptions(options({ url: 'http://a:1', timeout: 2000 })));
    expect(error.field).toBe('ConsulRegistry options.timeout');
    expect(error.message).toMatch(/unknown option/);
    expect(errorOf(() => resolveConsulOptions(options({ url: 'http://a:1', waitMS: 1 }))).message).toMatch(
      /did you mean .*waitMs/,
    );
  });

  it('prints the type of a value of the wrong type', () => {
    // Tried: a number as a string, a url as a number, a string clock, a numeric token.
    expect(
      errorOf(() => resolveConsulOptions(options({ url: 'http://a:1', waitMs: '2000' }))).message,
    ).toContain('got "2000" (string)');
    expect(errorOf(() => resolveConsulOptions(options({ url: 8500 }))).message).toContain('8500 (number)');
    expect(errorOf(() => resolveConsulOptions(options({ url: 'http://a:1', clock: 'now' }))).field).toBe(
      'clock',
    );
    expect(errorOf(() => resolveConsulOptions(options({ url: 'http://a:1', token: 7 }))).message).toContain(
      '7 (number)',
    );
  });

  it('checks the answer limits and refuses timers past 2^31-1 ms', () => {
    expect(errorOf(() => resolveConsulOptions(options({ url: 'http://a:1', maxInstances: 0 }))).field).toBe(
      'maxInstances',
    );
    expect(
      errorOf(() => resolveConsulOptions(options({ url: 'http://a:1', maxResponseBytes: 1.5 }))).field,
    ).toBe('maxResponseBytes');
    expect(
      errorOf(() => resolveConsulOptions(options({ url: 'http://a:1', requestTimeoutMs: 2 ** 31 }))).field,
    ).toBe('requestTimeoutMs');
  });
});
