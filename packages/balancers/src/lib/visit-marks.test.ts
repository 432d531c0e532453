import { describe, expect, it } from 'vitest';
import { VisitMarks } from './visit-marks.ts';

describe('VisitMarks', () => {
  it('reports each index once per walk, and forgets them when the next walk begins', () => {
    const marks = new VisitMarks(3);
    marks.begin();
    expect([marks.first(1), marks.first(1), marks.first(2), marks.first(1)]).toEqual([
      true,
      false,
      true,
      false,
    ]);
    marks.begin();
    expect([marks.first(1), marks.first(0), marks.first(0)]).toEqual([true, true, false]);
  });
});
