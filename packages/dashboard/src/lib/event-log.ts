/** One line of the page's "recent events". */
export interface LoggedEvent {
  /** Wall-clock ms (Date.now()). */
  readonly at: number;
  readonly name: string;
  readonly service: string | undefined;
  readonly instanceId: string | undefined;
  readonly detail: string;
}

// Credentials must never reach the page, even inside an error message someone else wrote.
const BEARER = /\b(bearer\s+)[^\s"']+/gi;
const KEY_VALUE =
  /\b((?:token|password|secret|authorization)["']?\s*[=:]\s*["']?)(?!bearer\b)(?!\[redacted\])[^\s"'&,]+/gi;

/** Removes anything that looks like a credential from text shown on the page. */
export function redact(text: string): string {
  return text.replace(BEARER, '$1[redacted]').replace(KEY_VALUE, '$1[redacted]');
}

/** The last `capacity` events, oldest first. */
export class EventLog {
  readonly #events: LoggedEvent[] = [];
  readonly #capacity: number;

  constructor(capacity = 200) {
    this.#capacity = capacity;
  }

  add(at: number, name: string, payload: unknown): void {
    const record = (payload ?? {}) as Record<string, unknown>;
    const detailOf = (value: unknown): string => {
      if (value instanceof Error) return value.message;
      if (typeof value === 'string' || typeof value === 'number') return String(value);
      return '';
    };
    const parts = [
      detailOf(record.reason),
      detailOf(record.error),
      record.durationMs === undefined ? '' : `for ${detailOf(record.durationMs)} ms`,
      record.healthy === undefined ? '' : `${detailOf(record.healthy)}/${detailOf(record.total)} healthy`,
    ].filter(Boolean);
    this.#events.push({
      at,
      name,
      service: typeof record.service === 'string' ? record.service : undefined,
      instanceId: typeof record.instanceId === 'string' ? record.instanceId : undefined,
      detail: redact(parts.join(' · ')).slice(0, 300),
    });
    if (this.#events.length > this.#capacity) this.#events.shift();
  }

  list(): readonly LoggedEvent[] {
    return this.#events;
  }
}
