import { ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { ServiceDiscoveryClient } from './service-discovery-client.ts';
import { PushRegistry } from './test-registry.test-support.ts';

const registry = new PushRegistry();
const make = (options: Record<string, unknown>) =>
  new ServiceDiscoveryClient({ registry, ...options } as ConstructorParameters<
    typeof ServiceDiscoveryClient
  >[0]);

function rejection(options: Record<string, unknown>): ValidationError {
  try {
    make(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('client options', () => {
  it.each([
    [{ timeout: 2_000 }, 'timeout', /did you mean timeoutMs\?/],
    [{ retries: 3 }, 'retries', /did you mean retry\?/],
    [{ retry: { attempts: 3 } }, 'retry.attempts', /did you mean retry\.maxAttempts\?/],
    [{ retry: { backoff: { initial: 5 } } }, 'retry.backoff.initial', /retry\.backoff\.initialMs/],
    [{ circuitBreaker: { failures: 3 } }, 'circuitBreaker.failures', /unknown option/],
    [
      { outlierDetection: { baseEjection: 1 } },
      'outlierDetection.baseEjection',
      /outlierDetection\.baseEjectionMs/,
    ],
    [{ healthCheck: { type: 'http', interval: 5 } }, 'healthCheck.interval', /healthCheck\.intervalMs/],
    [{ services: { carts: { timeout: 5 } } }, 'services.carts.timeout', /services\.carts\.timeoutMs/],
    [{ services: { carts: { retry: { attempts: 2 } } } }, 'services.carts.retry.attempts', /maxAttempts/],
  ])('rejects %j naming %s with a suggestion', (options, field, message) => {
    const error = rejection(options);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('accepts every documented option', () => {
    const client = make({
      timeoutMs: 1_000,
      deadlineMs: 5_000,
      retry: { maxAttempts: 2, backoff: { initialMs: 10, maxMs: 100, multiplier: 2, jitter: 'full' } },
      circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 1_000 },
      outlierDetection: { consecutiveFailures: 3, failurePercentage: { threshold: 80 } },
      retryBudget: { ratio: 0.1 },
      bulkhead: { maxConcurrent: 10, maxQueue: 5 },
      maxServices: 10,
      serviceIdleMs: 60_000,
      services: { carts: { retry: false, circuitBreaker: false, outlierDetection: false } },
    });
    return client.close();
  });

  it('rejects durations a timer cannot hold', () => {
    expect(rejection({ serviceIdleMs: 2 ** 31 }).field).toBe('serviceIdleMs');
    expect(rejection({ refreshMs: '5000' }).message).toMatch(/"5000" \(string\)/);
  });
});
