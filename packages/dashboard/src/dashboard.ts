export {
  createDashboard,
  type Dashboard,
  type DashboardOptions,
} from './lib/create-dashboard.ts';
export type { DashboardState, InstanceState, ServiceState } from './lib/dashboard-state.ts';
export type { LoggedEvent } from './lib/event-log.ts';
