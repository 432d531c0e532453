import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnTracked, waitForPort } from '../harness/children.ts';
import { localProxy, type ProxyKind, scratchDir } from './local-proxy.ts';

/**
 * HAProxy as an operator would put it in front of three HTTP backends: active health checks,
 * keep-alive to the servers, and L7 retries that go to another server (`retry-on
 * all-retryable-errors` with `option redispatch`).
 */
export const haproxy: ProxyKind = {
  name: 'HAProxy',
  binary: process.env.HAPROXY_BIN ?? '/usr/sbin/haproxy',
  async start(backends, balance) {
    const dir = scratchDir('haproxy');
    const port = await freePort();
    const config = [
      'global',
      '  maxconn 4096',
      '  nbthread 2',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  timeout queue 5s',
      '  option http-keep-alive',
      '  retries 3',
      '  retry-on all-retryable-errors',
      '  option redispatch 1',
      'frontend bench',
      `  bind 127.0.0.1:${port}`,
      '  default_backend three',
      'backend three',
      `  balance ${balance === 'leastConnections' ? 'leastconn' : 'roundrobin'}`,
      '  option httpchk GET /',
      '  default-server check inter 500ms fall 2 rise 2',
      ...backends.map((b) => `  server ${b.id} 127.0.0.1:${b.port}`),
      '',
    ].join('\n');
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, config);
    const child = spawnTracked(this.binary, ['-db', '-q', '-f', file], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitForPort(port, child);
    return localProxy('HAProxy', port, child, dir);
  },
};
