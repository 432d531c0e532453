export { Backend, type BackendHandler, type BackendOptions, type LoggedRequest } from './lib/backend.ts';
export { BackendFaults, type FaultAction } from './lib/backend-faults.ts';
export {
  type Backends,
  type InstanceExtras,
  type StartBackendsOptions,
  startBackends,
} from './lib/start-backends.ts';
