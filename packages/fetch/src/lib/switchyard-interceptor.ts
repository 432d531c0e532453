import { describeValue, rejectUnknownOptions, type ServiceInstance, ValidationError } from '@switchyard/core';
import type { Dispatcher } from 'undici';
import { UnsupportedDispatcherError } from './errors.ts';
import { InstanceOrigins, LogicalTargets } from './logical-targets.ts';
import { type Route, RoutedRequest, type SwitchyardCaller } from './routed-request.ts';
import { createServiceMatcher, type ServiceRule } from './service-matcher.ts';

export interface SwitchyardInterceptorOptions {
  /**
   * Which hosts are services. Default: single-label hostnames (`http://users/…`), except
   * `localhost`; every other request passes through untouched.
   */
  readonly services?: ServiceRule;
  /**
   * The TLS servername (SNI, and the name the certificate is verified against) for an
   * instance reached over TLS. Default: the hostname of the request (the service name).
   */
  readonly servername?: (instance: ServiceInstance, hostname: string) => string | undefined;
}

const OPTION_KEYS = ['services', 'servername'];

/**
 * An undici interceptor that sends requests for service names to an instance picked by the
 * Switchyard client, with its balancing, failover, breakers and retry budget; other requests
 * pass through untouched. The Host header and TLS servername keep the service's name.
 *
 * @example
 * const dispatcher = new Agent().compose(switchyard(client));
 * const res = await fetch('http://users/users/42', { dispatcher });
 */
export function switchyard(
  client: SwitchyardCaller,
  options: SwitchyardInterceptorOptions = {},
): Dispatcher.DispatcherComposeInterceptor {
  if (client === null || typeof client !== 'object' || typeof client.dispatchCall !== 'function') {
    throw new ValidationError('client', `expected a ServiceDiscoveryClient, got ${describeValue(client)}`);
  }
  rejectUnknownOptions(options, OPTION_KEYS, 'switchyard options');
  const match = createServiceMatcher(options.services);
  if (options.servername !== undefined && typeof options.servername !== 'function') {
    throw new ValidationError('servername', `expected a function, got ${describeValue(options.servername)}`);
  }
  const servername = options.servername ?? ((_: ServiceInstance, hostname: string) => hostname);
  // A list or a suffix names the same service for the same host every time: found once per
  // origin. A function is asked on every request (it may consult something that changes).
  const askEachTime = typeof options.services === 'function';
  const targets = new LogicalTargets(askEachTime ? undefined : match);
  const origins = new InstanceOrigins();
  return (dispatch) => {
    const route: Route = { client, dispatch, origins, servername };
    // undici's compose() checks that the dispatch it gets back takes exactly (opts, handler).
    return function switchyardDispatch(
      opts: Dispatcher.DispatchOptions,
      handler: Dispatcher.DispatchHandler,
    ) {
      if (typeof handler?.onRequestStart !== 'function') return refuse(handler);
      const target = targets.of(opts.origin);
      const service =
        target === undefined ? undefined : askEachTime ? match(target.hostname) : target.service;
      if (target === undefined || service === undefined) return dispatch(opts, handler);
      new RoutedRequest(route, service, target, opts, handler).start();
      return true;
    };
  };
}

/**
 * A handler of the old shape (onConnect, onHeaders…): an undici 6 dispatcher's compose() hands
 * interceptors that shape, and undici 8's compose() passes on whatever the caller gave, so an older
 * undici's fetch (Node's global fetch) reaches it too. Driving it with the new hooks would fail
 * deep inside undici.
 */
function refuse(handler: unknown): boolean {
  const error = new UnsupportedDispatcherError(
    `the handler has no onRequestStart hook: either the dispatcher is undici 6, or an older undici's ` +
      `fetch called an undici 8 dispatcher (Node's global fetch here is undici ${process.versions.undici}; ` +
      `call the undici package's own fetch)`,
  );
  const onError = (handler as { onError?: (error: Error) => void } | undefined)?.onError;
  if (typeof onError !== 'function') throw error;
  onError.call(handler, error);
  return true;
}
