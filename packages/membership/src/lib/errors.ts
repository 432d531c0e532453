import { SwitchyardError } from '@switchyard/core';

/** Why an incoming packet or frame was dropped; also the keys of `stats().dropped`. */
export type DropReason =
  | 'truncated'
  | 'oversize'
  | 'version'
  | 'label'
  | 'decrypt'
  | 'unencrypted'
  | 'unknown-type'
  | 'malformed'
  | 'send-failed'
  /** A claim whose incarnation jumps further above the known one than `maxIncarnationJump`. */
  | 'incarnation'
  /** An incoming stream refused: every slot taken and too many connections waiting. */
  | 'busy'
  /** New members refused: `maxMembers` reached, or more than `maxNewMembersPerMerge` in one push-pull. */
  | 'member-limit';

/**
 * A packet or stream frame that is not a valid message of this cluster. The node counts it under
 * `reason` in `stats().dropped` and carries on; it never reaches the membership state.
 */
export class MembershipDecodeError extends SwitchyardError {
  readonly reason: DropReason;

  constructor(reason: DropReason, detail: string) {
    super(`membership: dropped packet (${reason}): ${detail}`);
    this.reason = reason;
  }
}

/** `join` could not reach any of the seeds it was given. `causes` holds each seed's failure. */
export class MembershipJoinError extends SwitchyardError {
  readonly causes: ReadonlyMap<string, unknown>;

  constructor(causes: ReadonlyMap<string, unknown>) {
    super(
      `membership: could not join: no seed reachable (${[...causes.keys()].join(', ') || 'no seeds given'})`,
      { cause: causes.values().next().value },
    );
    this.causes = causes;
  }
}

/** The node was closed (or has left) and cannot do what was asked. */
export class MembershipClosedError extends SwitchyardError {
  constructor(what: string) {
    super(`membership: ${what}: the node is closed`);
  }
}
