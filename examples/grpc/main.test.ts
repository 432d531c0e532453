import { expect, it } from 'vitest';
import { main } from './main.ts';

it('a grpc-js client on switchyard:///greeter follows the registry', { timeout: 60_000 }, async () => {
  const result = await main(() => {});
  expect(result.failed).toBe(0);
  expect(result.afterStop).toEqual(['greeter-1', 'greeter-3']);
  expect(result.afterAdd).toContain('greeter-4');
});
