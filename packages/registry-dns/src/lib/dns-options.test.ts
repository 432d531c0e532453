import { ManualClock, ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { type DnsRegistryOptions, resolveDnsOptions } from './dns-options.ts';

function fieldOf(options: unknown): string | undefined {
  try {
    resolveDnsOptions(options as DnsRegistryOptions);
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  return undefined;
}

describe('resolveDnsOptions', () => {
  it('applies defaults', () => {
    const clock = new ManualClock();
    const resolved = resolveDnsOptions({ mode: 'srv', servers: ['127.0.0.1:5353'], clock });
    expect(resolved).toMatchObject({
      mode: 'srv',
      minTtlMs: 1_000,
      maxTtlMs: 60_000,
      port: undefined,
      clock,
    });
    expect(resolved.nameFor('users')).toBe('users');
  });

  it('names each bad option', () => {
    // Tried: no mode, an unknown mode, A mode without a port, port 0, an empty server list,
    // a server with a space, a host name as server, min above max, zero timeout, fractional tries, a string nameFor.
    expect(fieldOf({})).toBe('mode');
    expect(fieldOf({ mode: 'mx' })).toBe('mode');
    expect(fieldOf({ mode: 'a' })).toBe('port');
    expect(fieldOf({ mode: 'a', port: 0 })).toBe('port');
    expect(fieldOf({ mode: 'srv', servers: [] })).toBe('servers');
    expect(fieldOf({ mode: 'srv', servers: ['127.0.0.1', 'bad host'] })).toBe('servers[1]');
    expect(fieldOf({ mode: 'srv', servers: ['dns.example.org:53'] })).toBe('servers[0]');
    expect(fieldOf({ mode: 'srv', servers: ['127.0.0.1:5353', '[::1]:53', '::1'] })).toBeUndefined();
    expect(fieldOf({ mode: 'srv', minTtlMs: 5_000, maxTtlMs: 1_000 })).toBe('minTtlMs');
    expect(fieldOf({ mode: 'srv', timeoutMs: 0 })).toBe('timeoutMs');
    expect(fieldOf({ mode: 'srv', tries: 1.5 })).toBe('tries');
    expect(fieldOf({ mode: 'srv', nameFor: 'users.local' })).toBe('nameFor');
  });

  it('missing options name the required field; unknown keys are refused with a suggestion', () => {
    // Tried: no argument at all (plain JavaScript), `timeout` for timeoutMs, `ttl`.
    expect(fieldOf(undefined)).toBe('mode');
    expect(fieldOf(null)).toBe('options');
    expect(fieldOf({ mode: 'srv', timeout: 5 })).toBe('DnsRegistry options.timeout');
    expect(() => resolveDnsOptions({ mode: 'srv', timeout: 5 } as unknown as DnsRegistryOptions)).toThrow(
      /did you mean .*timeoutMs/,
    );
    expect(() => resolveDnsOptions({ mode: 'srv', ttl: 5 } as unknown as DnsRegistryOptions)).toThrow(
      /unknown option/,
    );
  });

  it('prints the type of a value of the wrong type and checks every option', () => {
    // Tried: a number as a string, a string boolean, a string clock, a record cap of 0.
    expect(() =>
      resolveDnsOptions({ mode: 'srv', timeoutMs: '2000' } as unknown as DnsRegistryOptions),
    ).toThrow('got "2000" (string)');
    expect(fieldOf({ mode: 'srv', secure: 'yes' })).toBe('secure');
    expect(fieldOf({ mode: 'srv', clock: 'system' })).toBe('clock');
    expect(fieldOf({ mode: 'srv', maxRecords: 0 })).toBe('maxRecords');
    expect(fieldOf({ mode: 'srv', maxTtlMs: 2 ** 31 })).toBe('maxTtlMs');
    expect(resolveDnsOptions({ mode: 'srv' }).maxRecords).toBe(1_000);
  });
});
