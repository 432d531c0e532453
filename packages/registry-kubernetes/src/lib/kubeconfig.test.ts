import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { loadKubeconfig } from './kubeconfig.ts';

const config = `
apiVersion: v1
kind: Config
current-context: dev
contexts:
  - name: dev
    context: { cluster: local, user: dev-user, namespace: shop }
  - name: sso
    context: { cluster: local, user: sso-user }
clusters:
  - name: local
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')}
users:
  - name: dev-user
    user: { token: dev-token }
  - name: sso-user
    user:
      exec: { command: some-plugin }
`;

describe('loadKubeconfig', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'kube-')), 'config');
  writeFileSync(path, config);

  it('reads the current context: server, CA, token, namespace', () => {
    expect(loadKubeconfig({ path })).toEqual({
      url: 'https://127.0.0.1:6443',
      namespace: 'shop',
      token: 'dev-token',
      ca: 'CA PEM',
    });
  });

  it('says plainly that exec plugins are not run', () => {
    expect(() => loadKubeconfig({ path, context: 'sso' })).toThrow(ValidationError);
    expect(() => loadKubeconfig({ path, context: 'sso' })).toThrow(/exec plugin/);
    expect(() => loadKubeconfig({ path, context: 'nope' })).toThrow(/no context "nope"/);
  });
});
