import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** PEM material for loopback TLS tests: a CA, a server and a client certificate it signed, and an unrelated CA. */
export interface TestCerts {
  readonly ca: string;
  readonly serverKey: string;
  /** For 127.0.0.1 and localhost (and a few service names). */
  readonly serverCert: string;
  readonly clientKey: string;
  readonly clientCert: string;
  /** A CA that signed nothing here: trusting it alone must fail. */
  readonly otherCa: string;
}

/** The repository's throwaway test certificates (test/fixtures/tls; never trust them elsewhere). */
export async function makeTestCerts(): Promise<TestCerts> {
  const read = (name: string) =>
    readFile(fileURLToPath(new URL(`../../../test/fixtures/tls/${name}`, import.meta.url)), 'utf8');
  const [ca, serverKey, serverCert, clientKey, clientCert, otherCa] = await Promise.all(
    ['ca.crt', 'server.key', 'server.crt', 'client.key', 'client.crt', 'other-ca.crt'].map(read),
  );
  return {
    ca: ca as string,
    serverKey: serverKey as string,
    serverCert: serverCert as string,
    clientKey: clientKey as string,
    clientCert: clientCert as string,
    otherCa: otherCa as string,
  };
}
