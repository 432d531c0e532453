import { describe, expect, it } from 'vitest';
import { RejectionLog } from './rejection-log.ts';

const bad = (key: string, reason = 'port 0') => ({ key, reason });
const keyOf = (entry: { key: string }) => entry.key;

describe('RejectionLog', () => {
  it('reports a bad entry once while it stays bad, again after it was fixed or changed reason', () => {
    const log = new RejectionLog();
    expect(log.replace('users', [bad('a'), bad('b')], keyOf)).toHaveLength(2);
    expect(log.replace('users', [bad('a'), bad('b')], keyOf)).toEqual([]);
    expect(log.replace('users', [bad('a'), bad('b', 'no address')], keyOf)).toEqual([bad('b', 'no address')]);
    expect(log.replace('users', [], keyOf)).toEqual([]);
    expect(log.replace('users', [bad('a')], keyOf)).toEqual([bad('a')]);
    expect(log.replace('orders', [bad('a')], keyOf)).toEqual([bad('a')]);
  });

  it('remembers at most maxServices services', () => {
    const log = new RejectionLog(2);
    log.replace('s1', [bad('a')], keyOf);
    log.replace('s2', [bad('a')], keyOf);
    log.replace('s3', [bad('a')], keyOf);
    expect(log.replace('s3', [bad('a')], keyOf)).toEqual([]);
    expect(log.replace('s1', [bad('a')], keyOf)).toEqual([bad('a')]); // forgotten, reported again
  });

  it('follows single entries too (watch events): note once, forget when good again', () => {
    const log = new RejectionLog();
    expect(log.note('users', 'a', 'port 0')).toBe(true);
    expect(log.note('users', 'a', 'port 0')).toBe(false);
    expect(log.note('users', 'a', 'not JSON')).toBe(true);
    log.forget('users', 'a');
    expect(log.note('users', 'a', 'not JSON')).toBe(true);
    // A full answer that still carries it does not report it again.
    expect(log.replace('users', [bad('a', 'not JSON')], keyOf)).toEqual([]);
  });
});
