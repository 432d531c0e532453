import { readyEndpoint as endpoint, endpointSlice as slice } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { instancesFromSlices } from './slice-instances.ts';

const select = { port: undefined, maxEndpoints: 10_000 };
const ids = (list: readonly { id: string; status?: string }[]) =>
  list
    .filter((i) => (i.status ?? 'up') === 'up')
    .map((i) => i.id)
    .sort();

describe('instancesFromSlices', () => {
  it('merges every slice of a Service and de-duplicates a pod that sits in two of them', () => {
    const { instances } = instancesFromSlices(
      'users',
      [
        slice('users-abc', [endpoint('a', '10.0.0.1'), endpoint('b', '10.0.0.2')]),
        // the controller moving pod b to another slice: it is in both for a while
        slice('users-def', [endpoint('b', '10.0.0.2'), endpoint('c', '10.0.0.3')]),
      ],
      select,
    );
    expect(ids(instances)).toEqual(['a', 'b', 'c']);
  });

  it('keeps one instance per dual-stack pod, IPv4 first, whatever the slice order', () => {
    const v6 = slice('users-v6', [endpoint('a', 'fd00::1')], { addressType: 'IPv6' });
    const v4 = slice('users-v4', [endpoint('a', '10.0.0.1')]);
    for (const order of [
      [v6, v4],
      [v4, v6],
    ]) {
      const { instances } = instancesFromSlices('users', order, select);
      expect(instances).toHaveLength(1);
      expect(instances[0]?.host).toBe('10.0.0.1');
    }
  });

  it('ready → served; serving+terminating → served only while nothing is ready; not serving → out', () => {
    const terminating = endpoint('t', '10.0.0.9', {
      conditions: { ready: false, serving: true, terminating: true },
    });
    const gone = endpoint('g', '10.0.0.8', {
      conditions: { ready: false, serving: false, terminating: true },
    });
    const both = instancesFromSlices(
      'users',
      [slice('s', [endpoint('a', '10.0.0.1'), terminating, gone])],
      select,
    );
    expect(ids(both.instances)).toEqual(['a']);
    // Still listed, as out of service, so that a client drops it at once.
    expect(both.instances.find((i) => i.id === 't')?.status).toBe('out_of_service');
    expect(both.instances.some((i) => i.id === 'g')).toBe(false);
    const onlyDraining = instancesFromSlices('users', [slice('s', [terminating, gone])], select);
    expect(ids(onlyDraining.instances)).toEqual(['t']);
    expect(onlyDraining.instances[0]?.metadata?.['k8s.terminating']).toBe('true');
  });

  it('reads nil conditions as the API documents: ready unless said otherwise', () => {
    const bare = { addresses: ['10.0.0.5'], targetRef: { name: 'p' } };
    const { instances } = instancesFromSlices('users', [slice('s', [bare])], select);
    expect(ids(instances)).toEqual(['p']);
  });

  it('selects a named port per slice, and carries zone, node, hints and port name', () => {
    const withHints = endpoint('a', '10.0.0.1', {
      zone: 'eu-1a',
      nodeName: 'node-7',
      hints: { forZones: [{ name: 'eu-1a' }, { name: 'eu-1b' }] },
    });
    const ports = [
      { name: 'metrics', port: 9090, protocol: 'TCP' },
      { name: 'http', port: 8080, protocol: 'TCP' },
    ];
    const { instances } = instancesFromSlices('users', [slice('s', [withHints], { ports })], {
      ...select,
      port: 'http',
    });
    expect(instances[0]).toMatchObject({
      id: 'a',
      host: '10.0.0.1',
      port: 8080,
      zone: 'eu-1a',
      metadata: {
        'k8s.node': 'node-7',
        'k8s.forZones': 'eu-1a,eu-1b',
        'k8s.portName': 'http',
        'k8s.pod': 'a',
      },
    });
  });

  it('reports a slice without the wanted port and a bad address instead of throwing', () => {
    const { instances, rejected } = instancesFromSlices(
      'users',
      [
        slice('no-port', [endpoint('a', '10.0.0.1')], { ports: [{ name: 'grpc', port: 9000 }] }),
        slice('bad', [endpoint('b', '10.0.0.2 '), endpoint('c', '10.0.0.3')]),
      ],
      { ...select, port: 'http' },
    );
    expect(ids(instances)).toEqual(['c']);
    expect(rejected.map((r) => r.slice).sort()).toEqual(['bad', 'no-port']);
  });

  it('serves at most maxEndpoints and says so', () => {
    const many = Array.from({ length: 50 }, (_, i) => endpoint(`p${i}`, `10.0.1.${i}`));
    const { instances, rejected } = instancesFromSlices('users', [slice('s', many)], {
      ...select,
      maxEndpoints: 20,
    });
    expect(instances).toHaveLength(20);
    expect(rejected.some((r) => r.reason.includes('maxEndpoints'))).toBe(true);
  });

  it('marks https ports secure (appProtocol or name)', () => {
    const ports = [{ name: 'web', port: 8443, protocol: 'TCP', appProtocol: 'https' }];
    const { instances } = instancesFromSlices(
      'users',
      [slice('s', [endpoint('a', '10.0.0.1')], { ports })],
      select,
    );
    expect(instances[0]?.secure).toBe(true);
  });
});
