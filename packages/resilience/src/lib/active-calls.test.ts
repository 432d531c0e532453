import { ManualClock } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { ActiveCalls } from './active-calls.ts';
import { CallScope } from './call-scope.ts';

describe('ActiveCalls', () => {
  const hooks = { clock: new ManualClock(), callTimedOut: () => 'call', attemptTimedOut: () => 'attempt' };
  const scopes = (n: number) => Array.from({ length: n }, () => new CallScope(hooks, undefined));

  it('keeps the calls added and not deleted, whichever end or middle they left from', () => {
    const list = new ActiveCalls();
    const [a, b, c, d] = scopes(4) as [CallScope, CallScope, CallScope, CallScope];
    for (const call of [a, b, c, d]) list.add(call);
    list.delete(c); // middle
    list.delete(d); // head (the newest)
    list.delete(a); // tail (the oldest)
    expect(list.takeAll()).toEqual([b]);
    expect(list.takeAll()).toEqual([]);
  });

  it('ignores deleting a call twice or after takeAll', () => {
    const list = new ActiveCalls();
    const [a, b] = scopes(2) as [CallScope, CallScope];
    list.add(a);
    list.add(b);
    const taken = list.takeAll();
    list.delete(a);
    list.delete(a);
    list.add(b);
    expect(taken).toHaveLength(2);
    expect(list.takeAll()).toEqual([b]);
  });
});
