/**
 * Which instances a walk (around a ring, along a Maglev table) has already looked at. Starting a
 * walk bumps a generation instead of clearing the marks, so a walk costs nothing up front.
 */
export class VisitMarks {
  readonly #marks: Uint32Array;
  #generation = 0;

  constructor(size: number) {
    this.#marks = new Uint32Array(size);
  }

  begin(): void {
    if (++this.#generation === 0xffff_ffff) {
      this.#marks.fill(0);
      this.#generation = 1;
    }
  }

  /** True the first time `index` is seen since `begin()`. */
  first(index: number): boolean {
    if (this.#marks[index] === this.#generation) return false;
    this.#marks[index] = this.#generation;
    return true;
  }
}
