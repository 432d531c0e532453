import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Whether the `openssl` CLI is available to make test certificates. */
export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** A throwaway CA and a server certificate for 127.0.0.1, written into `dir`. */
export interface TestCertificates {
  readonly ca: Buffer;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Makes a one-day CA and a server certificate with `subjectAltName=IP:127.0.0.1` (EC P-256,
 * fast to generate). Test helper only.
 */
export function makeTestCertificates(dir: string): TestCertificates {
  const file = (name: string) => join(dir, name);
  const run = (args: string[]) => {
    const result = spawnSync('openssl', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=switchyard-test-ca',
  ]);
  run(['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run([
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
  ]);
  return { ca: readFileSync(file('ca.crt')), certFile: file('server.crt'), keyFile: file('server.key') };
}
