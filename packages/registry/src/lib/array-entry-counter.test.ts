import { describe, expect, it } from 'vitest';
import { ArrayEntryCounter } from './array-entry-counter.ts';

const count = (text: string, chunkSize = 3) => {
  const counter = new ArrayEntryCounter();
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunkSize) counter.push(bytes.subarray(i, i + chunkSize));
  return counter.entries;
};

describe('ArrayEntryCounter', () => {
  it.each([
    ['[]', 0],
    [' [ ] ', 0],
    ['[1]', 1],
    ['[{"a":[1,2,{"b":","}]},{"c":"]\\"[,"}, 3 ]', 3],
    [JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ id: `x,${i}`, tags: ['a', 'b'] }))), 1000],
  ])('%s has %i entries, whatever the chunking', (text, entries) => {
    expect(count(text, 1)).toBe(entries);
    expect(count(text, 7)).toBe(entries);
    expect(count(text, 4096)).toBe(entries);
  });
});
