import type { ServiceDiscoveryClient } from '@switchyard/client';
import type { EventLog, LoggedEvent } from './event-log.ts';
import type { TrafficRecorder } from './traffic-recorder.ts';

/** One instance as the page shows it. */
export interface InstanceState {
  readonly id: string;
  readonly address: string;
  readonly zone: string | undefined;
  readonly weight: number;
  /** The one-word verdict: `routable`, `ejected`, `unhealthy`, `breakerOpen`, `halfOpen`, `draining`. */
  readonly state: string;
  readonly health: string;
  readonly ejected: boolean;
  readonly breaker: string;
  readonly inflight: number;
  /** Share of the service's attempts in the last minute, 0..1. */
  readonly share: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  /** Attempts per second over the last minute, oldest first. */
  readonly series: readonly number[];
}

export interface ServiceState {
  readonly service: string;
  readonly balancer: string;
  readonly panic: boolean;
  readonly instances: readonly InstanceState[];
}

/** The whole page's data: what `GET …/state.json` answers and each SSE `state` event carries. */
export interface DashboardState {
  readonly generatedAt: number;
  readonly services: readonly ServiceState[];
  readonly events: readonly LoggedEvent[];
}

/** Joins the client's live view with the last minute of traffic and the event log. */
export function dashboardState(
  client: ServiceDiscoveryClient,
  traffic: TrafficRecorder,
  log: EventLog,
  now: number,
): DashboardState {
  const services = client.inspect().map((service) => {
    const views = service.instances.map((instance) => ({
      instance,
      traffic: traffic.view(service.service, instance.id, now),
    }));
    const total = views.reduce((sum, view) => sum + view.traffic.requests, 0);
    traffic.forget(service.service, new Set(service.instances.map((instance) => instance.id)));
    return {
      service: service.service,
      balancer: service.balancer,
      panic: service.panic,
      instances: views.map(({ instance, traffic: t }) => ({
        id: instance.id,
        address: `${instance.host}:${instance.port}`,
        zone: instance.zone,
        weight: instance.weight,
        state: verdict(instance),
        health: instance.health,
        ejected: instance.ejected,
        breaker: instance.breaker,
        inflight: instance.inflight,
        share: total === 0 ? 0 : t.requests / total,
        requests: t.requests,
        errors: t.errors,
        p50Ms: t.p50Ms,
        p99Ms: t.p99Ms,
        series: t.series,
      })),
    };
  });
  // Wall-clock time for the page; `now` is the monotonic clock the traffic rings run on.
  return { generatedAt: Date.now(), services, events: log.list() };
}

function verdict(
  instance: ReturnType<ServiceDiscoveryClient['inspect']>[number]['instances'][number],
): string {
  if (instance.ejected) return 'ejected';
  if (instance.health === 'unhealthy') return 'unhealthy';
  if (instance.breaker === 'open') return 'breakerOpen';
  if (instance.breaker === 'halfOpen') return 'halfOpen';
  if (instance.draining) return 'draining';
  return 'routable';
}
