import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnTracked, waitForPort } from '../harness/children.ts';
import { localProxy, type ProxyKind, scratchDir } from './local-proxy.ts';

/**
 * nginx as an operator would put it in front of three HTTP backends: passive health checks
 * (`max_fails`), upstream keep-alive, and `proxy_next_upstream` so that a failed request goes to
 * the next server. (Active health checks are an nginx Plus feature.)
 */
export const nginx: ProxyKind = {
  name: 'nginx',
  binary: process.env.NGINX_BIN ?? '/usr/sbin/nginx',
  async start(backends, balance) {
    const dir = scratchDir('nginx');
    mkdirSync(join(dir, 'logs'));
    const port = await freePort();
    const config = [
      'daemon off;',
      'worker_processes 2;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'logs', 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${join(dir, 'body')};`,
      `  proxy_temp_path ${join(dir, 'proxy')};`,
      `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
      `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
      `  scgi_temp_path ${join(dir, 'scgi')};`,
      '  keepalive_requests 100000;',
      '  upstream three {',
      ...(balance === 'leastConnections' ? ['    least_conn;'] : []),
      ...backends.map((b) => `    server 127.0.0.1:${b.port} max_fails=1 fail_timeout=10s;`),
      '    keepalive 64;',
      '    keepalive_requests 100000;',
      '  }',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    location / {',
      '      proxy_pass http://three;',
      '      proxy_http_version 1.1;',
      '      proxy_set_header Connection "";',
      '      proxy_connect_timeout 1s;',
      '      proxy_next_upstream error timeout http_502 http_503 http_504;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n');
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, config);
    const child = spawnTracked(this.binary, ['-p', dir, '-e', join(dir, 'logs', 'error.log'), '-c', file], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitForPort(port, child);
    return localProxy('nginx', port, child, dir);
  },
};
