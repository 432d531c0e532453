import type { LoadBalancingConfig } from './grpc-module.ts';
import type { SwitchyardEndpoint } from './instance-endpoints.ts';

interface StatusObject {
  code: number;
  details: string;
  metadata: unknown;
}

interface ServiceConfig {
  loadBalancingConfig: LoadBalancingConfig[];
  methodConfig: never[];
}

/** grpc-js 1.14: one function taking `StatusOr<Endpoint[]>`, attributes, config, note. */
type ListenerFunction = (
  endpoints: { ok: true; value: SwitchyardEndpoint[] } | { ok: false; error: StatusObject },
  attributes: Record<string, unknown>,
  serviceConfig: { ok: true; value: ServiceConfig } | null,
  resolutionNote: string,
) => boolean;

/** grpc-js 1.10–1.13: an object with a success and an error method. */
interface ListenerObject {
  onSuccessfulResolution(
    endpoints: SwitchyardEndpoint[],
    serviceConfig: ServiceConfig | null,
    serviceConfigError: null,
    configSelector: null,
    attributes: Record<string, unknown>,
  ): void;
  onError(error: StatusObject): void;
}

export type AnyResolverListener = ListenerFunction | ListenerObject;

/** A resolution result, told to either listener shape. */
export type Resolution =
  | {
      readonly ok: true;
      readonly endpoints: SwitchyardEndpoint[];
      readonly attributes: Record<string, unknown>;
    }
  | { readonly ok: false; readonly error: StatusObject };

export function tellListener(
  listener: AnyResolverListener,
  resolution: Resolution,
  loadBalancingConfig: readonly LoadBalancingConfig[] | null,
): void {
  const config: ServiceConfig | null =
    loadBalancingConfig === null ? null : { loadBalancingConfig: [...loadBalancingConfig], methodConfig: [] };
  if (typeof listener === 'function') {
    if (resolution.ok) {
      listener(
        { ok: true, value: resolution.endpoints },
        resolution.attributes,
        config && { ok: true, value: config },
        '',
      );
    } else {
      listener({ ok: false, error: resolution.error }, {}, null, resolution.error.details);
    }
    return;
  }
  if (resolution.ok)
    listener.onSuccessfulResolution(resolution.endpoints, config, null, null, resolution.attributes);
  else listener.onError(resolution.error);
}
