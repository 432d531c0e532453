import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryUnavailableError, type ServiceInstance } from '@switchyard/core';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdCluster, hasEtcd, requireBinary, startEtcd } from '../../test-support/etcd-server.ts';
import { hasOpenssl, makeTestCertificates, type TestCertificates } from '../../test-support/tls-certs.ts';
import { EtcdRegistry } from './etcd-registry.ts';

function suiteRuns(): boolean {
  if (!requireBinary('etcd', hasEtcd)) return false;
  if (hasOpenssl) return true;
  console.warn('[skipped] etcd TLS suite: openssl not found (needed to make test certificates)');
  return false;
}
const run = suiteRuns();
const me: ServiceInstance = { id: 'secure-1', service: 'vault', host: '10.0.0.9', port: 8200 };

describe.skipIf(!run)('EtcdRegistry with TLS and password auth passed through to a real etcd', () => {
  let dir: string;
  let certs: TestCertificates;
  let etcd: EtcdCluster;
  const auth = { username: 'root', password: 'correct horse' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-tls-'));
    certs = makeTestCertificates(dir);
    etcd = await startEtcd(1, { tls: certs });
    const admin = new Etcd3({ hosts: etcd.hosts, credentials: { rootCertificate: certs.ca } });
    await admin.role('root').create();
    await admin.user('root').create(auth.password);
    await admin.user('root').addRole('root');
    await admin.auth.authEnable();
    admin.close();
  }, 60_000);
  afterAll(async () => {
    await etcd?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers and resolves with the CA and the credentials', async () => {
    const registry = new EtcdRegistry({
      hosts: etcd.hosts,
      credentials: { rootCertificate: certs.ca },
      auth,
    });
    try {
      await registry.register(me, { ttlMs: 5_000 });
      expect(await registry.resolve('vault')).toEqual([me]);
      await registry.heartbeat('vault', 'secure-1');
    } finally {
      await registry.close();
    }
  });

  it('fails with a typed error without the password, and without the CA', async () => {
    // Tried: right CA but no auth (permission denied), then auth but no CA (TLS handshake fails).
    const anonymous = new EtcdRegistry({ hosts: etcd.hosts, credentials: { rootCertificate: certs.ca } });
    const untrusted = new EtcdRegistry({
      hosts: etcd.hosts,
      auth,
      dialTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
    });
    try {
      await expect(anonymous.resolve('vault')).rejects.toBeInstanceOf(RegistryUnavailableError);
      await expect(untrusted.resolve('vault')).rejects.toBeInstanceOf(RegistryUnavailableError);
    } finally {
      await Promise.all([anonymous.close(), untrusted.close()]);
    }
  });
});
