import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveKubernetesOptions } from './kubernetes-options.ts';

describe('resolveKubernetesOptions in a pod', () => {
  it('takes the API address from the environment and the account from the mounted files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(dir, 'token'), 'pod-token');
    writeFileSync(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'namespace'), 'shop\n');
    const options = resolveKubernetesOptions(
      {},
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      dir,
    );
    expect(options.url).toBe('https://10.96.0.1'); // 443 is https' default
    expect(options.namespace).toBe('shop');
    expect(options.tokenFile).toBe(join(dir, 'token'));
    expect(options.ca).toContain('BEGIN CERTIFICATE');
  });

  it('brackets an IPv6 service host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(dir, 'ca.crt'), 'x');
    const options = resolveKubernetesOptions(
      {},
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
      dir,
    );
    expect(options.url).toBe('https://[fd00::1]:6443');
    expect(options.namespace).toBe('default');
  });
});
