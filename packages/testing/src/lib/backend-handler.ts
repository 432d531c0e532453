import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceInstance } from '@switchyard/core';
import type { Backend } from './backend.ts';

/** One request as a backend received it (bodies are read in full before they are logged). */
export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** `Date.now()` when the body was complete. */
  readonly at: number;
}

/** Answers a request in place of the default echo. `body` is the request body, already read. */
export type BackendHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  backend: Backend,
  body: string,
) => void | Promise<void>;

export interface BackendOptions {
  readonly instance: ServiceInstance;
  readonly handler?: BackendHandler | undefined;
  /** Bodies above this answer 413 (default 1 MiB). */
  readonly maxBodyBytes?: number | undefined;
}
