import { type Clock, systemClock, ValidationError } from '@switchyard/core';
import { describe, numberOption, objectOption } from './options.ts';

/** gRPC A50's failure-percentage rule, judged once per interval on the interval's counts. */
export interface FailurePercentageOptions {
  /** Eject an instance whose failures exceed this percent of its calls. Default 85. */
  readonly threshold?: number;
  /** Judge only when at least this many instances have `requestVolume` calls. Default 5. */
  readonly minimumHosts?: number;
  /** Calls an instance needs in the interval to be judged. Default 50. */
  readonly requestVolume?: number;
  /** Chance (percent) that a judged outlier is actually ejected. Default 100. */
  readonly enforcementPercentage?: number;
}

/** The success-rate rule (Envoy, gRPC A50): ejects instances far below the others' success rate. */
export interface SuccessRateOptions {
  /** Eject below mean − stdevFactor × standard deviation of the judged instances. Default 1.9. */
  readonly stdevFactor?: number;
  /** Judge only when at least this many instances have `requestVolume` calls. Default 5. */
  readonly minimumHosts?: number;
  /** Calls an instance needs in the interval to be judged. Default 100. */
  readonly requestVolume?: number;
  /** Chance (percent) that a judged outlier is actually ejected. Default 100. */
  readonly enforcementPercentage?: number;
}

/**
 * Passive outlier detection settings for one service.
 *
 * @example
 * const options: OutlierDetectorOptions = { consecutiveFailures: 3, baseEjectionMs: 10_000, maxEjectionPercent: 34 };
 */
export interface OutlierDetectorOptions {
  /** Failures in a row that eject an instance at once; `false` turns the rule off. Default 5. */
  readonly consecutiveFailures?: number | false;
  /** The failure-percentage rule; on with its defaults unless `false`. */
  readonly failurePercentage?: FailurePercentageOptions | false;
  /** The success-rate rule; off unless given (it needs volume on several instances to mean anything). */
  readonly successRate?: SuccessRateOptions | false;
  /** How often counters roll over and the interval rules run. Default 10 000 ms. */
  readonly intervalMs?: number;
  /** An ejection lasts `baseEjectionMs × times ejected`… Default 30 000 ms. */
  readonly baseEjectionMs?: number;
  /** …capped at max(baseEjectionMs, maxEjectionMs). Default 300 000 ms. */
  readonly maxEjectionMs?: number;
  /**
   * Most of the service (percent) ejected at once. The first ejection is always allowed when
   * this is above 0 (Envoy: "if no hosts have been ejected, eject immediately"); every further
   * one only if the ejected share stays ≤ this. 0 turns ejection off. Default 10.
   */
  readonly maxEjectionPercent?: number;
  readonly clock?: Clock;
  /** Source of randomness for `enforcementPercentage`, in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

export interface ResolvedOutlierOptions {
  /** 0 when the rule is off. */
  readonly consecutiveFailures: number;
  readonly failurePercentage: Required<FailurePercentageOptions> | undefined;
  readonly successRate: Required<SuccessRateOptions> | undefined;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  /** Already max(baseEjectionMs, maxEjectionMs). */
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  readonly clock: Clock;
  readonly random: () => number;
}

const MAX_TIMER_MS = 2_147_483_647;

/**
 * Checks every option up front; throws a ValidationError naming the first bad one.
 *
 * @example
 * resolveOutlierOptions({ maxEjectionPercent: 150 }); // throws: invalid outlierDetection.maxEjectionPercent
 */
export function resolveOutlierOptions(input: OutlierDetectorOptions = {}): ResolvedOutlierOptions {
  const options = objectOption(input, 'outlierDetection') as OutlierDetectorOptions;
  const field = (name: string) => `outlierDetection.${name}`;
  const ms = { min: 1, max: MAX_TIMER_MS };
  const consecutiveFailures =
    options.consecutiveFailures === false
      ? 0
      : numberOption(options.consecutiveFailures, field('consecutiveFailures'), 5, {
          min: 1,
          integer: true,
        });
  const baseEjectionMs = numberOption(options.baseEjectionMs, field('baseEjectionMs'), 30_000, ms);
  const maxEjectionMs = numberOption(options.maxEjectionMs, field('maxEjectionMs'), 300_000, ms);
  if (options.random !== undefined && typeof options.random !== 'function') {
    throw new ValidationError(field('random'), `expected a function, got ${describe(options.random)}`);
  }
  return {
    consecutiveFailures,
    failurePercentage: resolveFailurePercentage(options.failurePercentage),
    successRate: resolveSuccessRate(options.successRate),
    intervalMs: numberOption(options.intervalMs, field('intervalMs'), 10_000, ms),
    baseEjectionMs,
    maxEjectionMs: Math.max(baseEjectionMs, maxEjectionMs),
    maxEjectionPercent: numberOption(options.maxEjectionPercent, field('maxEjectionPercent'), 10, {
      max: 100,
    }),
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
  };
}

function resolveFailurePercentage(
  input: FailurePercentageOptions | false | undefined,
): Required<FailurePercentageOptions> | undefined {
  if (input === false) return undefined;
  const options = objectOption(input, 'outlierDetection.failurePercentage') as FailurePercentageOptions;
  const field = (name: string) => `outlierDetection.failurePercentage.${name}`;
  const count = { min: 1, integer: true };
  return {
    threshold: numberOption(options.threshold, field('threshold'), 85, { max: 100 }),
    minimumHosts: numberOption(options.minimumHosts, field('minimumHosts'), 5, count),
    requestVolume: numberOption(options.requestVolume, field('requestVolume'), 50, count),
    enforcementPercentage: numberOption(options.enforcementPercentage, field('enforcementPercentage'), 100, {
      max: 100,
    }),
  };
}

function resolveSuccessRate(
  input: SuccessRateOptions | false | undefined,
): Required<SuccessRateOptions> | undefined {
  if (input === false || input === undefined) return undefined;
  const options = objectOption(input, 'outlierDetection.successRate') as SuccessRateOptions;
  const field = (name: string) => `outlierDetection.successRate.${name}`;
  const count = { min: 1, integer: true };
  return {
    stdevFactor: numberOption(options.stdevFactor, field('stdevFactor'), 1.9),
    minimumHosts: numberOption(options.minimumHosts, field('minimumHosts'), 5, count),
    requestVolume: numberOption(options.requestVolume, field('requestVolume'), 100, count),
    enforcementPercentage: numberOption(options.enforcementPercentage, field('enforcementPercentage'), 100, {
      max: 100,
    }),
  };
}
