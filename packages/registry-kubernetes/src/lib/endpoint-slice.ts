/**
 * The parts of a `discovery.k8s.io/v1` EndpointSlice that discovery reads. Everything is
 * optional here because answers are untrusted: decoding checks each field.
 */
export interface EndpointSlice {
  readonly metadata?: { readonly name?: string; readonly resourceVersion?: string };
  readonly addressType?: string;
  readonly endpoints?: readonly Endpoint[] | null;
  readonly ports?: readonly EndpointPort[] | null;
}

export interface Endpoint {
  readonly addresses?: readonly string[];
  readonly conditions?: {
    readonly ready?: boolean | null;
    readonly serving?: boolean | null;
    readonly terminating?: boolean | null;
  };
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hints?: { readonly forZones?: readonly { readonly name?: string }[] };
  readonly targetRef?: { readonly kind?: string; readonly name?: string; readonly uid?: string };
}

export interface EndpointPort {
  readonly name?: string | null;
  readonly port?: number | null;
  readonly protocol?: string;
  readonly appProtocol?: string;
}

/** A list answer: the slices and the collection's resourceVersion to watch from. */
export interface EndpointSliceList {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: readonly EndpointSlice[];
}

/** One event of a watch stream (newline-delimited JSON). */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: EndpointSlice & {
    /** On ERROR events the object is a `Status`. */
    readonly code?: number;
    readonly reason?: string;
    readonly message?: string;
  };
}
