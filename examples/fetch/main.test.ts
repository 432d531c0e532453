import { expect, it } from 'vitest';
import { main } from './main.ts';

it('fetch to http://users is balanced and survives a killed instance', { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const result = await main((line) => lines.push(line));
  expect(result.failed).toBe(0);
  expect(result.afterKill).toEqual(['users-1', 'users-3']);
  expect(lines[0]).toMatch(/answered by users-\d, which saw Host: users$/);
  expect(lines.at(-1)).toContain('passed through untouched: answered by users-1');
});
