import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM material made fresh for one test run: a CA, a server and a client certificate it signed, and an unrelated CA. */
export interface TestCerts {
  readonly ca: string;
  readonly serverKey: string;
  /** For 127.0.0.1 and localhost. */
  readonly serverCert: string;
  readonly clientKey: string;
  readonly clientCert: string;
  /** A CA that signed nothing here: trusting it alone must fail. */
  readonly otherCa: string;
}

/** Generates short-lived EC certificates with the openssl CLI (in a temporary directory it removes). */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-certs-'));
  const path = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    const selfSigned = (name: string) =>
      run('openssl', [
        'req',
        '-x509',
        ...ec,
        '-keyout',
        path(`${name}.key`),
        '-out',
        path(`${name}.crt`),
        '-days',
        '1',
        '-subj',
        `/CN=${name}`,
      ]);
    await selfSigned('ca');
    await selfSigned('other-ca');
    await writeFile(
      path('server.ext'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    await writeFile(path('client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const name of ['server', 'client']) {
      await run('openssl', [
        'req',
        ...ec,
        '-keyout',
        path(`${name}.key`),
        '-out',
        path(`${name}.csr`),
        '-subj',
        `/CN=${name}`,
      ]);
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        path(`${name}.csr`),
        '-CA',
        path('ca.crt'),
        '-CAkey',
        path('ca.key'),
        '-CAcreateserial',
        '-out',
        path(`${name}.crt`),
        '-days',
        '1',
        '-extfile',
        path(`${name}.ext`),
      ]);
    }
    const read = (name: string) => readFile(path(name), 'utf8');
    return {
      ca: await read('ca.crt'),
      serverKey: await read('server.key'),
      serverCert: await read('server.crt'),
      clientKey: await read('client.key'),
      clientCert: await read('client.crt'),
      otherCa: await read('other-ca.crt'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
