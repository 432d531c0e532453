import { SwitchyardError, type SwitchyardErrorOptions } from '@switchyard/core';

/**
 * The API server refused the service account (401: no valid token; 403: RBAC). Names the
 * permission discovery needs, so the fix is one Role away: get, list and watch on
 * `endpointslices` in the group `discovery.k8s.io`.
 */
export class KubernetesPermissionError extends SwitchyardError {
  readonly status: 401 | 403;
  readonly namespace: string;
  /** The missing permission, as a Role rule would say it. */
  readonly permission = {
    apiGroups: ['discovery.k8s.io'],
    resources: ['endpointslices'],
    verbs: ['get', 'list', 'watch'],
  } as const;

  constructor(
    status: 401 | 403,
    namespace: string,
    serverMessage: string,
    options: SwitchyardErrorOptions = {},
  ) {
    super(
      status === 401
        ? `Kubernetes API: unauthorized (401): the service account token is missing, expired or invalid${serverMessage ? ` (${serverMessage})` : ''}`
        : `Kubernetes API: forbidden (403): the service account needs get, list and watch on endpointslices (apiGroup discovery.k8s.io) in namespace ${namespace}${serverMessage ? ` (${serverMessage})` : ''}`,
      options,
    );
    this.status = status;
    this.namespace = namespace;
  }
}
