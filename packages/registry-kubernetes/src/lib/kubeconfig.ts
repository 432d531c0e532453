import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@switchyard/core';
import { parse } from 'yaml';
import type { KubernetesRegistryOptions } from './kubernetes-options.ts';

interface Kubeconfig {
  readonly 'current-context'?: string;
  readonly contexts?: readonly {
    name?: string;
    context?: { cluster?: string; user?: string; namespace?: string };
  }[];
  readonly clusters?: readonly {
    name?: string;
    cluster?: { server?: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string };
  }[];
  readonly users?: readonly {
    name?: string;
    user?: {
      token?: string;
      tokenFile?: string;
      'client-certificate-data'?: string;
      'client-key-data'?: string;
      'client-certificate'?: string;
      'client-key'?: string;
      exec?: unknown;
    };
  }[];
}

/**
 * Reads a kubeconfig (default `$KUBECONFIG`'s first file, else `~/.kube/config`) and returns the
 * connection options of one context (default: the current one): server, CA, token or client
 * certificate, namespace. Exec and auth-provider plugins are not run: use a token, a client
 * certificate, or `kubectl proxy` (`{ url: 'http://127.0.0.1:8001' }`) for those clusters.
 *
 * @example
 * const registry = new KubernetesRegistry({ ...loadKubeconfig(), port: 'http' });
 */
export function loadKubeconfig(
  options: { readonly path?: string; readonly context?: string } = {},
): Pick<KubernetesRegistryOptions, 'url' | 'namespace' | 'token' | 'tokenFile' | 'ca' | 'cert' | 'key'> {
  const path =
    options.path ??
    process.env.KUBECONFIG?.split(process.platform === 'win32' ? ';' : ':')[0] ??
    join(homedir(), '.kube', 'config');
  let config: Kubeconfig;
  try {
    config = parse(readFileSync(path, 'utf8')) as Kubeconfig;
  } catch (error) {
    throw new ValidationError('kubeconfig', `cannot read ${path}: ${(error as Error).message}`);
  }
  const contextName = options.context ?? config['current-context'];
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  if (!context)
    throw new ValidationError('kubeconfig.context', `no context ${JSON.stringify(contextName)} in ${path}`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) {
    throw new ValidationError(
      'kubeconfig.cluster',
      `no server for cluster ${JSON.stringify(context.cluster)} in ${path}`,
    );
  }
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  if (user.exec) {
    throw new ValidationError(
      'kubeconfig.user',
      `user ${JSON.stringify(context.user)} authenticates with an exec plugin, which is not run here: use a token, a client certificate or kubectl proxy`,
    );
  }
  const decode = (data: string | undefined, file: string | undefined) =>
    data ? Buffer.from(data, 'base64').toString('utf8') : file ? readFileSync(file, 'utf8') : undefined;
  const ca = decode(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = decode(user['client-certificate-data'], user['client-certificate']);
  const key = decode(user['client-key-data'], user['client-key']);
  return {
    url: cluster.server,
    ...(context.namespace ? { namespace: context.namespace } : {}),
    ...(user.token ? { token: user.token } : {}),
    ...(user.tokenFile ? { tokenFile: user.tokenFile } : {}),
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
  };
}
