import { RejectionLog } from '@switchyard/core';
import type { RejectedEndpoint } from './slice-instances.ts';

/**
 * Reports each bad endpoint once while it stays bad, whether resolve or the watch saw it (core's
 * RejectionLog: bounded to 1,000 services, reported again only after it was fixed and broke anew).
 */
export class RejectionReporter {
  readonly #log = new RejectionLog(1_000);
  readonly #emit: (service: string, entry: RejectedEndpoint) => void;

  constructor(emit: (service: string, entry: RejectedEndpoint) => void) {
    this.#emit = emit;
  }

  report(service: string, rejected: readonly RejectedEndpoint[]): void {
    for (const entry of this.#log.replace(service, rejected, keyOf)) this.#emit(service, entry);
  }
}

function keyOf(entry: RejectedEndpoint): string {
  let detail = '';
  try {
    detail = JSON.stringify(entry.entry) ?? '';
  } catch {
    // an entry that cannot be printed is keyed by its slice alone
  }
  return `${entry.slice}\u0000${detail.slice(0, 256)}`;
}
