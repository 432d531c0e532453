import { HttpResponse, http, type RequestHandler } from 'msw';

/** An MockEndpointSlice as the mock stores and serves it (`discovery.k8s.io/v1`). */
export interface MockEndpointSlice {
  readonly metadata?: { readonly name?: string; readonly resourceVersion?: string };
  readonly addressType?: string;
  readonly endpoints?: readonly Record<string, unknown>[] | null;
  readonly ports?:
    | readonly { name?: string | null; port?: number | null; protocol?: string; appProtocol?: string }[]
    | null;
}

/** What `mockKubernetes` returns: msw handlers plus the controls a test scripts them with. */
export interface MockKubernetes {
  readonly handlers: RequestHandler[];
  /** Requests seen: lists, watches, the resourceVersion each watch asked from, Authorization headers. */
  readonly requests: { list: number; watch: number; watchVersions: string[]; authorization: string[] };
  /** The server's current resourceVersion. */
  readonly resourceVersion: number;
  /** Watches open now. */
  readonly openWatches: number;
  /** Creates or replaces a slice of `service` (ADDED or MODIFIED on open watches). */
  apply(service: string, slice: MockEndpointSlice): void;
  /** Deletes a slice (DELETED on open watches). */
  remove(service: string, name: string): void;
  /** A BOOKMARK at the current resourceVersion on every open watch. */
  bookmark(): void;
  /** Forgets history: older resourceVersions answer 410, open watches get an ERROR 410 event. */
  expire(): void;
  /** Events stop reaching open watches (a silently stalled stream) until `resume()`. */
  stall(): void;
  resume(): void;
  /** Ends every open watch normally, as the server's `timeoutSeconds` does. */
  endWatches(): void;
  /** The next request (or the next watch, with `watchOnly`) answers `status` with a Status body. */
  failNext(status: number, body?: unknown, watchOnly?: boolean): void;
  reset(): void;
}

/**
 * A Kubernetes API server's MockEndpointSlice endpoints, as msw handlers speaking the documented
 * wire format: list (with limit/continue and the collection's resourceVersion) and watch
 * (newline-delimited JSON events ADDED / MODIFIED / DELETED / BOOKMARK / ERROR, 410 Gone for a
 * resourceVersion older than the server keeps). No cluster needed.
 *
 * @example
 * const kube = mockKubernetes({ url: 'http://kube.test' });
 * setupServer(...kube.handlers).listen();
 * kube.apply('users', endpointSlice('users-1', [readyEndpoint('pod-a', '10.0.0.1')]));
 */
export function mockKubernetes(options: {
  readonly url: string;
  readonly namespace?: string;
}): MockKubernetes {
  const url = options.url.replace(/\/+$/, '');
  const namespace = options.namespace ?? 'default';
  const slices = new Map<string, Map<string, MockEndpointSlice>>(); // service → name → slice
  const history: { rv: number; service: string; type: string; object: MockEndpointSlice }[] = [];
  const streams = new Set<{ service: string; send: (line: string) => void; end: () => void }>();
  let rv = 100;
  let oldestRv = 0;
  const requests = { list: 0, watch: 0, watchVersions: [] as string[], authorization: [] as string[] };
  let nextFailure: { status: number; body: unknown; watchOnly: boolean } | undefined;
  let silent = false;

  const serviceOf = (request: Request) => {
    const selector = new URL(request.url).searchParams.get('labelSelector') ?? '';
    return /^kubernetes\.io\/service-name=(.+)$/.exec(selector)?.[1] ?? '';
  };
  const withVersion = (slice: MockEndpointSlice, version: number): MockEndpointSlice => ({
    ...slice,
    metadata: { ...slice.metadata, resourceVersion: String(version) },
  });
  const publish = (service: string, type: string, object: MockEndpointSlice) => {
    history.push({ rv, service, type, object });
    if (silent) return;
    for (const stream of streams) {
      if (stream.service === service) stream.send(JSON.stringify({ type, object }));
    }
  };

  const handler = http.get(
    `${url}/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
    ({ request }) => {
      const params = new URL(request.url).searchParams;
      const service = serviceOf(request);
      const watching = params.get('watch') === '1' || params.get('watch') === 'true';
      requests.authorization.push(request.headers.get('authorization') ?? '');
      if (nextFailure && (!nextFailure.watchOnly || watching)) {
        const failure = nextFailure;
        nextFailure = undefined;
        return HttpResponse.json(failure.body as object, { status: failure.status });
      }
      if (!watching) {
        requests.list++;
        const all = [...(slices.get(service)?.values() ?? [])];
        const limit = Number(params.get('limit') ?? 0) || all.length;
        const start = Number(params.get('continue') ?? 0);
        const page = all.slice(start, start + limit);
        const more = start + limit < all.length;
        return HttpResponse.json({
          kind: 'MockEndpointSliceList',
          apiVersion: 'discovery.k8s.io/v1',
          metadata: { resourceVersion: String(rv), ...(more ? { continue: String(start + limit) } : {}) },
          items: page,
        });
      }
      requests.watch++;
      const from = Number(params.get('resourceVersion') ?? 0);
      requests.watchVersions.push(params.get('resourceVersion') ?? '');
      if (from < oldestRv) {
        return HttpResponse.json(
          {
            kind: 'Status',
            status: 'Failure',
            message: `too old resource version: ${from} (${oldestRv})`,
            reason: 'Expired',
            code: 410,
          },
          { status: 410 },
        );
      }
      let entry: { service: string; send: (line: string) => void; end: () => void } | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          const encoder = new TextEncoder();
          entry = {
            service,
            send: (line) => {
              try {
                controller.enqueue(encoder.encode(`${line}\n`));
              } catch {
                // the client went away
              }
            },
            end: () => {
              try {
                controller.close();
              } catch {
                // already closed
              }
            },
          };
          streams.add(entry);
          const added = entry;
          request.signal.addEventListener('abort', () => {
            streams.delete(added);
            added.end();
          });
          for (const past of history) {
            if (past.service === service && past.rv > from)
              entry.send(JSON.stringify({ type: past.type, object: past.object }));
          }
        },
        cancel() {
          if (entry) streams.delete(entry);
        },
      });
      return new HttpResponse(body, { headers: { 'Content-Type': 'application/json' } });
    },
  );

  return {
    handlers: [handler],
    requests,
    get resourceVersion() {
      return rv;
    },
    get openWatches() {
      return streams.size;
    },
    /** Creates or replaces a slice (ADDED or MODIFIED on open watches). */
    apply(service: string, slice: MockEndpointSlice) {
      const name = slice.metadata?.name as string;
      const byName = slices.get(service) ?? new Map<string, MockEndpointSlice>();
      slices.set(service, byName);
      const type = byName.has(name) ? 'MODIFIED' : 'ADDED';
      const stored = withVersion(slice, ++rv);
      byName.set(name, stored);
      publish(service, type, stored);
    },
    remove(service: string, name: string) {
      const stored = slices.get(service)?.get(name);
      if (!stored) return;
      slices.get(service)?.delete(name);
      publish(service, 'DELETED', withVersion(stored, ++rv));
    },
    /** A BOOKMARK on every open watch, at the current resourceVersion. */
    bookmark() {
      for (const stream of streams) {
        stream.send(
          JSON.stringify({
            type: 'BOOKMARK',
            object: { kind: 'MockEndpointSlice', metadata: { resourceVersion: String(rv) } },
          }),
        );
      }
    },
    /** Forget history: resourceVersions before now answer 410, and open watches get an ERROR 410 event. */
    expire() {
      oldestRv = rv + 1;
      history.length = 0;
      for (const stream of streams) {
        stream.send(
          JSON.stringify({
            type: 'ERROR',
            object: {
              kind: 'Status',
              status: 'Failure',
              message: 'too old resource version',
              reason: 'Expired',
              code: 410,
            },
          }),
        );
        stream.end();
      }
      streams.clear();
    },
    /** Events stop reaching open watches (a silently stalled stream); new watches see them again. */
    stall() {
      silent = true;
    },
    resume() {
      silent = false;
    },
    /** Ends every open watch normally, as the server's timeoutSeconds does. */
    endWatches() {
      for (const stream of streams) stream.end();
      streams.clear();
    },
    failNext(
      status: number,
      body: unknown = { kind: 'Status', message: `failure ${status}`, code: status },
      watchOnly = false,
    ) {
      nextFailure = { status, body, watchOnly };
    },
    reset() {
      slices.clear();
      history.length = 0;
      for (const stream of streams) stream.end();
      streams.clear();
      oldestRv = 0;
      nextFailure = undefined;
      silent = false;
      requests.list = 0;
      requests.watch = 0;
      requests.watchVersions.length = 0;
      requests.authorization.length = 0;
    },
  };
}

/** A slice with the given endpoints, on port `http`/8080 unless said otherwise. */
export function endpointSlice(
  name: string,
  endpoints: MockEndpointSlice['endpoints'],
  options: { readonly addressType?: string; readonly ports?: MockEndpointSlice['ports'] } = {},
): MockEndpointSlice {
  return {
    metadata: { name },
    addressType: options.addressType ?? 'IPv4',
    endpoints,
    ports: options.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** A ready endpoint of pod `pod` at `address`; `extra` overrides fields (conditions, zone…). */
export function readyEndpoint(
  pod: string,
  address: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    addresses: [address],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: 'Pod', name: pod, uid: `uid-${pod}` },
    ...extra,
  };
}
