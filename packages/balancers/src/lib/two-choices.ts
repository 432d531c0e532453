import { type ServiceInstance, weightOf } from '@switchyard/core';
import { AliasTable } from './alias-table.ts';
import { drawAllowed, REDRAWS } from './allowed-draw.ts';
import type { PickContext, Picker } from './balancer.ts';
import { randomIndex } from './fast-random.ts';

/**
 * The two-choices pick (Mitzenmacher): draw two distinct allowed instances at random, keep the
 * better one. Strategies differ only in `better`, which compares two indexes into `instances`.
 *
 * Candidates are drawn in proportion to weight (uniformly when all weights are equal), and an
 * excluded draw is redrawn, then settled by an exact draw among the allowed: so an idle fleet,
 * where every comparison is a tie and the first drawn wins, gets exactly its weight shares,
 * whatever is excluded.
 */
export abstract class TwoChoicesPicker implements Picker {
  protected readonly instances: readonly ServiceInstance[];
  /** Set when weights differ: candidates are drawn by weight. */
  readonly #alias: AliasTable | undefined;
  readonly #weights: Float64Array | undefined;

  constructor(instances: readonly ServiceInstance[]) {
    this.instances = instances;
    const weights = Float64Array.from(instances, weightOf);
    const uniform = weights.every((weight) => weight === weights[0]);
    this.#weights = uniform ? undefined : weights;
    this.#alias = uniform ? undefined : new AliasTable(weights);
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const instances = this.instances;
    const n = instances.length;
    const excluded = context?.excluded;
    if (excluded === undefined && this.#alias === undefined && n > 1) {
      // The hot path: two distinct uniform draws, no exclusions.
      const a = randomIndex(n);
      let b = randomIndex(n - 1);
      if (b >= a) b++;
      return instances[this.better(a, b)];
    }
    const a = this.#drawFirst(excluded);
    if (a === -1) return undefined;
    const b = this.#drawSecond(a, excluded);
    return instances[b === -1 ? a : this.better(a, b)];
  }

  /** The index to send to, of `a` and `b`. Keeping `a` on a tie gives each instance its draw share. */
  protected abstract better(a: number, b: number): number;

  #draw(): number {
    return this.#alias ? this.#alias.draw() : randomIndex(this.instances.length);
  }

  /** A random allowed index, by weight, or -1 when none is allowed. */
  #drawFirst(excluded: PickContext['excluded']): number {
    const instances = this.instances;
    for (let tries = 0; tries < REDRAWS; tries++) {
      const i = this.#draw();
      if (!excluded || !excluded(instances[i]!)) return i;
    }
    return drawAllowed(instances, this.#weights, excluded);
  }

  /** A random allowed index other than `a`, by weight, or -1 when `a` is the only one allowed. */
  #drawSecond(a: number, excluded: PickContext['excluded']): number {
    const instances = this.instances;
    if (instances.length === 1) return -1;
    for (let tries = 0; tries < REDRAWS; tries++) {
      const i = this.#draw();
      if (i !== a && (!excluded || !excluded(instances[i]!))) return i;
    }
    return drawAllowed(instances, this.#weights, excluded, a);
  }
}
