export { UnsupportedDispatcherError, UpstreamStatusError } from './lib/errors.ts';
export { HASH_KEY_HEADER, IDEMPOTENT_HEADER, TIMEOUT_HEADER } from './lib/request-headers.ts';
export type { RoutedCallOptions, SwitchyardCaller } from './lib/routed-request.ts';
export type { ServiceRule } from './lib/service-matcher.ts';
export { type SwitchyardInterceptorOptions, switchyard } from './lib/switchyard-interceptor.ts';
