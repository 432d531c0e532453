import { type Clock, systemClock, type TimerHandle, TypedEmitter, ValidationError } from '@switchyard/core';
import { describe, numberOption, objectOption } from './options.ts';

export type MemberState = 'alive' | 'suspected' | 'failed';

export interface HeartbeatStateEvent {
  readonly id: string;
  readonly state: MemberState;
  readonly previous: MemberState;
  /** Silence that caused the change; for `recovered`, how long the member was silent. */
  readonly silentMs: number;
}

export type HeartbeatEvents = {
  suspected: HeartbeatStateEvent;
  failed: HeartbeatStateEvent;
  /** A suspected or failed member sent a heartbeat again. */
  recovered: HeartbeatStateEvent;
};

export interface HeartbeatFailureDetectorOptions {
  /** Silence after which a member is suspected. Default 5000 ms. */
  readonly suspectAfterMs?: number;
  /** Silence (since the last heartbeat) after which a member is failed. Default suspectAfterMs + 10 000 ms. */
  readonly failAfterMs?: number;
  readonly clock?: Clock;
}

interface Member {
  readonly id: string;
  state: MemberState;
  last: number;
  timer: TimerHandle | undefined;
}

/**
 * A timeout failure detector for heartbeats from any source (registry TTL renewals, membership
 * pings): a member silent for `suspectAfterMs` is suspected, for `failAfterMs` failed; a
 * heartbeat brings it back to alive. Each member has one timer, moved only when it fires, so
 * a heartbeat costs a map lookup and a store.
 *
 * @example
 * const detector = new HeartbeatFailureDetector({ suspectAfterMs: 3000, failAfterMs: 10_000 });
 * detector.events.on('failed', ({ id }) => registry.deregister('users', id));
 * detector.heartbeat('users-1'); // on every renewal
 */
export class HeartbeatFailureDetector {
  readonly events = new TypedEmitter<HeartbeatEvents>();
  readonly #suspectAfterMs: number;
  readonly #failAfterMs: number;
  readonly #clock: Clock;
  readonly #members = new Map<string, Member>();
  #closed = false;

  constructor(input: HeartbeatFailureDetectorOptions = {}) {
    const options = objectOption(input, 'heartbeat') as HeartbeatFailureDetectorOptions;
    const ms = { min: 1, max: 2_147_483_647 };
    this.#suspectAfterMs = numberOption(options.suspectAfterMs, 'heartbeat.suspectAfterMs', 5000, ms);
    this.#failAfterMs = numberOption(
      options.failAfterMs,
      'heartbeat.failAfterMs',
      this.#suspectAfterMs + 10_000,
      ms,
    );
    if (this.#failAfterMs <= this.#suspectAfterMs) {
      throw new ValidationError(
        'heartbeat.failAfterMs',
        `must be longer than suspectAfterMs (${this.#suspectAfterMs}), got ${this.#failAfterMs}`,
      );
    }
    this.#clock = options.clock ?? systemClock;
  }

  /** Records a heartbeat; an unknown member is added as alive. */
  heartbeat(id: string): void {
    if (this.#closed) return;
    const member = this.#members.get(id) ?? this.#add(id);
    const now = this.#clock.now();
    const silent = now - member.last;
    member.last = now;
    if (member.state !== 'alive') {
      this.#move(member, 'alive', silent);
      this.#arm(member, this.#suspectAfterMs);
    }
  }

  /** Starts watching a member as alive, as if it had just sent a heartbeat. */
  add(id: string): void {
    if (!this.#closed && !this.#members.has(id)) this.#add(id);
  }

  /** Stops watching a member. Returns whether it was watched. */
  remove(id: string): boolean {
    const member = this.#members.get(id);
    if (!member) return false;
    if (member.timer) this.#clock.clearTimeout(member.timer);
    return this.#members.delete(id);
  }

  /** The member's state, or undefined when it is not watched. */
  state(id: string): MemberState | undefined {
    return this.#members.get(id)?.state;
  }

  /** Ids of the watched members in `state`. */
  members(state?: MemberState): string[] {
    const ids: string[] = [];
    for (const member of this.#members.values()) if (!state || member.state === state) ids.push(member.id);
    return ids;
  }

  /** Stops every timer; later heartbeats are ignored. */
  close(): void {
    this.#closed = true;
    for (const member of this.#members.values()) if (member.timer) this.#clock.clearTimeout(member.timer);
    this.#members.clear();
  }

  #add(id: string): Member {
    if (typeof id !== 'string' || id.length === 0) {
      throw new ValidationError('id', `expected a non-empty string, got ${describe(id)}`);
    }
    const member: Member = { id, state: 'alive', last: this.#clock.now(), timer: undefined };
    this.#members.set(id, member);
    this.#arm(member, this.#suspectAfterMs);
    return member;
  }

  #arm(member: Member, delayMs: number): void {
    if (member.timer) this.#clock.clearTimeout(member.timer);
    member.timer = this.#clock.setTimeout(() => this.#check(member), Math.max(0, delayMs));
  }

  /** Timer fired: judge the silence, then sleep until the next deadline (if any is left). */
  #check(member: Member): void {
    member.timer = undefined;
    if (this.#members.get(member.id) !== member) return;
    const silent = this.#clock.now() - member.last;
    if (silent >= this.#failAfterMs) {
      if (member.state !== 'failed') this.#move(member, 'failed', silent);
      return;
    }
    if (silent >= this.#suspectAfterMs) {
      if (member.state === 'alive') this.#move(member, 'suspected', silent);
      this.#arm(member, this.#failAfterMs - silent);
      return;
    }
    this.#arm(member, this.#suspectAfterMs - silent);
  }

  #move(member: Member, state: MemberState, silentMs: number): void {
    const previous = member.state;
    member.state = state;
    const event = state === 'alive' ? 'recovered' : state;
    if (this.events.hasListeners(event)) {
      this.events.emit(event, { id: member.id, state, previous, silentMs });
    }
  }
}
