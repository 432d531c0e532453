/**
 * The node under attack in `stream-flood.ts`, in its own process so that its memory can be
 * read alone. Reports its port over IPC and runs until the parent disconnects.
 */
import { Membership } from '@switchyard/membership';

const node = await Membership.create({ name: 'target', bindHost: '127.0.0.1' });
process.send?.({ port: node.address.port });
process.on('disconnect', () => {
  void node.close().then(() => process.exit(0));
});
