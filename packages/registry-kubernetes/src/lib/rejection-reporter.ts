import type { RejectedEndpoint } from './slice-instances.ts';

const MAX_SERVICES = 1_000;

/**
 * Reports each bad endpoint once while it stays bad, whether resolve or the watch saw it, and
 * again only after it was fixed and broke anew. Bounded: at most 1,000 services are remembered.
 */
export class RejectionReporter {
  readonly #reported = new Map<string, Set<string>>();
  readonly #emit: (service: string, entry: RejectedEndpoint) => void;

  constructor(emit: (service: string, entry: RejectedEndpoint) => void) {
    this.#emit = emit;
  }

  report(service: string, rejected: readonly RejectedEndpoint[]): void {
    const before = this.#reported.get(service);
    const now = new Set<string>();
    for (const entry of rejected) {
      const key = `${entry.slice}\u0000${entry.reason}\u0000${safeJson(entry.entry).slice(0, 256)}`;
      now.add(key);
      if (!before?.has(key)) this.#emit(service, entry);
    }
    this.#reported.delete(service);
    if (now.size === 0) return;
    if (this.#reported.size >= MAX_SERVICES) {
      const oldest = this.#reported.keys().next().value;
      if (oldest !== undefined) this.#reported.delete(oldest);
    }
    this.#reported.set(service, now);
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}
