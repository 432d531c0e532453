import type { Clock, FailedAttempt, ServiceInstance, TimerHandle } from '@switchyard/core';
import type { AttemptRunner } from './attempt-runner.ts';
import type { AttemptScope, CallScope } from './call-scope.ts';
import type { AttemptContext, InstanceSource } from './executor-types.ts';

/** What a hedged round needs from its executor. */
export interface HedgeDeps<T> {
  readonly runner: AttemptRunner;
  readonly source: InstanceSource;
  readonly fn: (instance: ServiceInstance, ctx: AttemptContext) => Promise<T>;
  /** Judges resolved values for the attempt-end hook. */
  readonly succeeded?: ((value: T) => boolean) | undefined;
  readonly call: CallScope;
  /** Ids tried in this call; the round adds the ones it launches. */
  readonly tried: string[];
  /** The call's failed attempts; the round adds each of its own. */
  readonly failures: FailedAttempt[];
  readonly clock: Clock;
  /** Asked before the second attempt starts (budget, counters, events); false = do not hedge. */
  readonly onHedge: (instance: ServiceInstance, attempt: number) => boolean;
}

/** The round's last attempt number and the instance of its last failure, written as it runs. */
export interface HedgeRound {
  attempt: number;
  instanceId: string | undefined;
}

/**
 * One hedged round (gRPC's hedging policy, "The Tail at Scale"): attempt `round.attempt` on
 * `first`; if it has not answered after `hedgeAfterMs`, a second attempt starts on another
 * instance. The first success wins and the other attempt is aborted; the round fails only when
 * every attempt it started has failed, with the last error.
 */
export function runHedged<T>(
  deps: HedgeDeps<T>,
  first: ServiceInstance,
  round: HedgeRound,
  hedgeAfterMs: number,
): Promise<T> {
  const { runner, source, fn, call, tried, clock } = deps;
  return new Promise<T>((resolve, reject) => {
    const scopes: AttemptScope[] = [];
    let pending = 0;
    let settled = false;
    let timer: TimerHandle | undefined;
    const finish = () => {
      settled = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    };
    const launch = (instance: ServiceInstance, attempt: number) => {
      const scope = runner.scope(instance, attempt, call);
      scopes.push(scope);
      pending++;
      tried.push(instance.id);
      round.attempt = attempt;
      runner.run(source, instance, fn, scope, undefined, deps.succeeded).then(
        (value) => {
          if (settled) return;
          finish();
          const lost = new DOMException('another attempt answered first', 'AbortError');
          for (const other of scopes) {
            if (other === scope) continue;
            other.superseded = true;
            other.abort(lost);
          }
          resolve(value);
        },
        (error: unknown) => {
          pending--;
          if (!settled) deps.failures.push({ attempt, instanceId: instance.id, error });
          if (settled || pending > 0) return;
          finish();
          round.instanceId = instance.id;
          reject(error);
        },
      );
    };
    launch(first, round.attempt);
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (settled || call.aborted) return;
      const other = source.pick((instance) => tried.includes(instance.id) || runner.excludeOpen(instance));
      if (other === undefined || !deps.onHedge(other, round.attempt + 1)) return;
      launch(other, round.attempt + 1);
    }, hedgeAfterMs);
  });
}
