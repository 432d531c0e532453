import { describe, expect, it } from 'vitest';
import { freezeRecord, type MemberRecord } from './member-state.ts';
import { MemberTable } from './member-table.ts';

const rec = (id: string, incarnation = 0): MemberRecord =>
  freezeRecord({ id, host: '127.0.0.1', port: 7000, incarnation, state: 'alive', metadata: {} });

describe('MemberTable', () => {
  it('applies claims through the merge rules and reports the event', () => {
    const table = new MemberTable(rec('a'));
    expect(table.apply({ type: 'alive', record: rec('b') })?.event).toBe('joined');
    expect(table.apply({ type: 'alive', record: rec('b') })).toBeUndefined();
    expect(table.apply({ type: 'suspect', id: 'b', incarnation: 0, from: 'a' })?.event).toBe('suspect');
    expect(table.liveCount).toBe(2);
    expect(table.apply({ type: 'dead', id: 'b', incarnation: 0, from: 'a' })?.event).toBe('failed');
    expect(table.liveCount).toBe(1);
    expect(table.live().map((m) => m.id)).toEqual(['a']);
    expect(table.all().map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('never applies claims about the local member (that is refutation, the node’s job)', () => {
    const table = new MemberTable(rec('a'));
    expect(() => table.apply({ type: 'dead', id: 'a', incarnation: 5, from: 'x' })).toThrow();
    expect(table.local.state).toBe('alive');
  });

  it('forgets reaped members but never the local one', () => {
    const table = new MemberTable(rec('a'));
    table.apply({ type: 'alive', record: rec('b') });
    expect(table.remove('b')).toBe(true);
    expect(table.remove('a')).toBe(false);
    expect(table.get('b')).toBeUndefined();
  });
});
