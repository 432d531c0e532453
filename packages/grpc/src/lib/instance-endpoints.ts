import { isUp, type ServiceInstance, weightOf } from '@switchyard/core';

/** What grpc-js calls an endpoint, plus the instance's identity for LB policies that read it. */
export interface SwitchyardEndpoint {
  readonly addresses: { host: string; port: number }[];
  /** grpc-js's built-in policies ignore these; a custom policy can read them. */
  readonly attributes: {
    readonly id: string;
    readonly weight: number;
    readonly zone: string | undefined;
    readonly secure: boolean;
    readonly metadata: Readonly<Record<string, string>>;
  };
}

/** The instances calls may go to (status up), one endpoint each, in a stable order. */
export function instanceEndpoints(instances: readonly ServiceInstance[]): SwitchyardEndpoint[] {
  const endpoints: SwitchyardEndpoint[] = [];
  for (const instance of instances) {
    if (!isUp(instance)) continue;
    endpoints.push({
      // grpc-js wants IPv6 literals without brackets.
      addresses: [{ host: instance.host.replace(/^\[(.*)\]$/, '$1'), port: instance.port }],
      attributes: {
        id: instance.id,
        weight: weightOf(instance),
        zone: instance.zone,
        secure: instance.secure === true,
        metadata: instance.metadata ?? {},
      },
    });
  }
  return endpoints;
}
