import { ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { type MembershipOptions, resolveOptions, validateMetadata } from './options.ts';

describe('resolveOptions', () => {
  it('fills memberlist-like defaults', () => {
    const o = resolveOptions({ name: 'a' });
    expect(o).toMatchObject({
      bindHost: '127.0.0.1',
      bindPort: 0,
      probeIntervalMs: 1000,
      probeTimeoutMs: 500,
      indirectChecks: 3,
      suspicionMult: 4,
      retransmitMult: 4,
      gossipNodes: 3,
      lifeguard: true,
      clusterLabel: '',
      maxIncarnationJump: 65_536,
      maxMembers: 10_000,
      maxNewMembersPerMerge: 256,
      maxFrameBytes: 4 * 1024 * 1024,
      maxInboundStreams: 8,
      streamTimeoutMs: 10_000,
      streamIdleTimeoutMs: 5_000,
    });
  });

  it.each([
    [{ name: '' }, 'name'],
    [{ name: 'has space' }, 'name'],
    [{ name: 'a/b' }, 'name'],
    [{ name: 'a', probeIntervalMs: 0 }, 'probeIntervalMs'],
    [{ name: 'a', probeIntervalMs: 100, probeTimeoutMs: 100 }, 'probeTimeoutMs'],
    [{ name: 'a', indirectChecks: 1.5 }, 'indirectChecks'],
    [{ name: 'a', bindPort: 70000 }, 'bindPort'],
    [{ name: 'a', suspicionMult: Number.NaN }, 'suspicionMult'],
    [{ name: 'a', gossipNodes: 0 }, 'gossipNodes'],
    [{ name: 'a', maxPacketBytes: 100 }, 'maxPacketBytes'],
    [{ name: 'a', clusterLabel: 'x'.repeat(256) }, 'clusterLabel'],
    [{ name: 'a', bindHost: '0.0.0.0' }, 'advertiseHost'],
    [{ name: 'a', bindHost: '::', advertiseHost: '::' }, 'advertiseHost'],
    [{ name: 'a', advertiseHost: 'bad host' }, 'advertiseHost'],
    [{ name: 'a', maxPacketBytes: 1000 }, 'maxPacketBytes'],
    [{ name: 'a', maxIncarnationJump: 0 }, 'maxIncarnationJump'],
    [{ name: 'a', maxMembers: 1 }, 'maxMembers'],
    [{ name: 'a', maxNewMembersPerMerge: 0.5 }, 'maxNewMembersPerMerge'],
    [{ name: 'a', maxInboundStreams: 0 }, 'maxInboundStreams'],
    [{ name: 'a', maxFrameBytes: 2 ** 40 }, 'maxFrameBytes'],
    [{ name: 'a', streamIdleTimeoutMs: -1 }, 'streamIdleTimeoutMs'],
  ] as [MembershipOptions, string][])('rejects %o with a ValidationError on %s', (options, field) => {
    try {
      resolveOptions(options);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
    }
  });
});

it('accepts a wildcard bind with an advertised address, and sizes packets for the largest alive', () => {
  expect(resolveOptions({ name: 'a', bindHost: '0.0.0.0', advertiseHost: '10.0.0.7' }).advertiseHost).toBe(
    '10.0.0.7',
  );
  // A long label and encryption raise the floor: every alive message must fit in one packet.
  expect(() => resolveOptions({ name: 'a', clusterLabel: 'x'.repeat(255), maxPacketBytes: 1200 })).toThrow(
    /maxPacketBytes/,
  );
  expect(resolveOptions({ name: 'a', clusterLabel: 'x'.repeat(255) }).maxPacketBytes).toBe(1400);
});

describe('validateMetadata', () => {
  it('accepts small string maps and freezes a copy', () => {
    const input = { service: 'cache' };
    const out = validateMetadata(input);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
    expect(Object.isFrozen(out)).toBe(true);
  });

  it('rejects non-strings, oversize maps and empty keys (tried: a number, 600 bytes, "")', () => {
    expect(() => validateMetadata({ port: 80 })).toThrow(/metadata\.port/);
    expect(() => validateMetadata({ big: 'x'.repeat(600) })).toThrow(/512/);
    expect(() => validateMetadata({ '': 'x' })).toThrow(ValidationError);
    expect(() => validateMetadata(['a'])).toThrow(ValidationError);
  });
});
