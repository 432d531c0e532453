import { expect, it } from 'vitest';
import { main } from './main.ts';

it(
  'forms a gossip cluster whose client view and hash ring follow a crash and a leave',
  { timeout: 90_000 },
  async () => {
    const lines: string[] = [];
    const result = await main(4, (line) => lines.push(line));
    expect(result.views).toEqual([
      ['cache-1', 'cache-2', 'cache-3', 'cache-4'],
      ['cache-1', 'cache-3', 'cache-4'],
      ['cache-1', 'cache-3'],
    ]);
    // Consistent hashing: only the crashed member's keys moved.
    expect(result.movedKeys).toEqual(result.crashedOwnedKeys);
    expect(result.clientAgreesWithRing).toBe(true);
    expect(result.clientInstancesAfterCrash).not.toContain('cache-2');
    expect(lines.some((line) => line.includes('cache-2 failed'))).toBe(true);
    expect(lines.some((line) => line.includes('cache-4 left'))).toBe(true);
  },
);
