import { afterEach, describe, expect, it, vi } from 'vitest';
import { Keyring } from './keyring.ts';
import { Membership } from './membership.ts';
import { isLoopbackHost, UNENCRYPTED_GOSSIP_WARNING } from './security-warning.ts';

const nodes: Membership[] = [];
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
process.on('warning', onWarning);
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  warnings.length = 0;
});

const ours = () =>
  warnings.filter((w) => (w as Error & { code?: string }).code === UNENCRYPTED_GOSSIP_WARNING);

describe('the warning for gossip without a keyring beyond loopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.3.4.5', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.7', false],
    ['127.example.com', false],
  ])('%s is loopback: %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });

  it('is emitted once, naming the node and the port, when a node binds all interfaces without a keyring', async () => {
    const node = await Membership.create({ name: 'open', bindHost: '0.0.0.0', advertiseHost: '127.0.0.1' });
    nodes.push(node);
    await vi.waitFor(() => expect(ours()).toHaveLength(1));
    expect(ours()[0]!.name).toBe('SecurityWarning');
    expect(ours()[0]!.message).toContain(`"open" gossips on 0.0.0.0:${node.address.port}`);
  });

  it('is not emitted with a keyring, nor on loopback', async () => {
    const keyring = new Keyring([Buffer.alloc(32, 7)]);
    nodes.push(
      await Membership.create({ name: 'sealed', bindHost: '0.0.0.0', advertiseHost: '127.0.0.1', keyring }),
    );
    nodes.push(await Membership.create({ name: 'local', bindHost: '127.0.0.1' }));
    await new Promise((resolve) => setImmediate(resolve)); // warnings are delivered on a later tick
    await new Promise((resolve) => setImmediate(resolve));
    expect(ours()).toEqual([]);
  });
});
