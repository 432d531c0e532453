import { ValidationError } from '@switchyard/core';

/** What a backend does with one received request. */
export type FaultAction =
  | { readonly kind: 'answer' }
  | { readonly kind: 'fail'; readonly status: number; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'hang' }
  | { readonly kind: 'resetMidBody' }
  | { readonly kind: 'drop' };

const ANSWER: FaultAction = Object.freeze({ kind: 'answer' });
const HANG: FaultAction = Object.freeze({ kind: 'hang' });
const RESET: FaultAction = Object.freeze({ kind: 'resetMidBody' });
const DROP: FaultAction = Object.freeze({ kind: 'drop' });

/**
 * The scripted faults of one test backend. Each fault with a count is used up one request at a
 * time; when several are armed, the most severe applies first: hang, then drop, then reset mid-body, then status.
 */
export class BackendFaults {
  /** Extra delay before every answer, in ms (0 = none). */
  slowMs = 0;
  /** What `GET /health` reports. */
  healthy = true;
  #failStatus = 500;
  #failHeaders: Readonly<Record<string, string>> = {};
  #fail: FaultAction | undefined;
  #failLeft = 0;
  #hangLeft = 0;
  #resetLeft = 0;
  #dropLeft = 0;

  slow(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new ValidationError('slow.ms', `expected a finite number >= 0, got ${String(ms)}`);
    }
    this.slowMs = ms;
  }

  failWith(status: number, count: number, headers: Readonly<Record<string, string>> = {}): void {
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new ValidationError('failWith.status', `expected an HTTP status 100..599, got ${String(status)}`);
    }
    const left = checkCount('failWith.count', count);
    if (
      headers === null ||
      typeof headers !== 'object' ||
      Object.values(headers).some((v) => typeof v !== 'string')
    ) {
      throw new ValidationError('failWith.headers', 'expected an object of header strings');
    }
    this.#failStatus = status;
    this.#failHeaders = Object.freeze({ ...headers });
    this.#fail = undefined;
    this.#failLeft = left;
  }

  hang(count: number): void {
    this.#hangLeft = checkCount('hang.count', count);
  }

  resetMidBody(count: number): void {
    this.#resetLeft = checkCount('resetMidBody.count', count);
  }

  dropConnection(count: number): void {
    this.#dropLeft = checkCount('dropConnection.count', count);
  }

  /** Decides the fate of the next request and uses up one unit of the fault that applies. */
  take(): FaultAction {
    if (this.#hangLeft > 0) {
      this.#hangLeft--;
      return HANG;
    }
    if (this.#dropLeft > 0) {
      this.#dropLeft--;
      return DROP;
    }
    if (this.#resetLeft > 0) {
      this.#resetLeft--;
      return RESET;
    }
    if (this.#failLeft > 0) {
      this.#failLeft--;
      // One frozen action per failWith() call: failing requests allocate nothing more.
      this.#fail ??= Object.freeze({ kind: 'fail', status: this.#failStatus, headers: this.#failHeaders });
      return this.#fail;
    }
    return ANSWER;
  }

  /** Whether any fault is armed (slow answers and an unhealthy /health included). */
  get active(): boolean {
    return (
      this.slowMs > 0 ||
      !this.healthy ||
      this.#failLeft + this.#hangLeft + this.#resetLeft + this.#dropLeft > 0
    );
  }

  clear(): void {
    this.slowMs = 0;
    this.healthy = true;
    this.#failLeft = 0;
    this.#hangLeft = 0;
    this.#resetLeft = 0;
    this.#dropLeft = 0;
  }
}

function checkCount(field: string, count: number): number {
  if (count !== Number.POSITIVE_INFINITY && (!Number.isInteger(count) || count < 1)) {
    throw new ValidationError(field, `expected an integer >= 1 or Infinity, got ${String(count)}`);
  }
  return count;
}
