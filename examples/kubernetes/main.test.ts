import { expect, it } from 'vitest';
import { main } from './main.ts';

it(
  'follows a rolling update: drains the terminating pod, serves the new one',
  { timeout: 60_000 },
  async () => {
    const lines: string[] = [];
    const rounds = await main((line) => lines.push(line));
    expect(Object.keys(rounds[0] ?? {}).sort()).toEqual(['users-1', 'users-2']);
    expect(Object.keys(rounds[1] ?? {})).toEqual(['users-1']);
    expect(Object.keys(rounds[2] ?? {}).sort()).toEqual(['users-1', 'users-3']);
    expect(lines.at(-1)).toMatch(/ 1 watch$/);
  },
);
