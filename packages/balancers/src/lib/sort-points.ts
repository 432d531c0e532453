/**
 * Sorts ring points ascending with their owners and returns them interleaved,
 * `[point₀, owner₀, point₁, owner₁, …]`, so a lookup finds a point's owner in the same cache line.
 * A stable LSD radix sort on two 16-bit digits: linear time, so a 160,000-point ring sorts in a
 * few milliseconds; equal points keep member order, so a rebuild from the same members gives the
 * same ring. `points` and `owners` are used as scratch.
 */
export function sortPoints(points: Uint32Array, owners: Uint32Array): Uint32Array {
  const n = points.length;
  const pairs = new Uint32Array(n * 2);
  const tmpPoints = new Uint32Array(n);
  const tmpOwners = new Uint32Array(n);
  const counts = new Uint32Array(65_537);
  // Low digit: into the scratch arrays.
  countDigits(points, 0, counts);
  for (let i = 0; i < n; i++) {
    const at = counts[points[i]! & 0xffff]!++;
    tmpPoints[at] = points[i]!;
    tmpOwners[at] = owners[i]!;
  }
  // High digit: straight into the interleaved result.
  counts.fill(0);
  countDigits(tmpPoints, 16, counts);
  for (let i = 0; i < n; i++) {
    const at = counts[tmpPoints[i]! >>> 16]!++;
    pairs[2 * at] = tmpPoints[i]!;
    pairs[2 * at + 1] = tmpOwners[i]!;
  }
  return pairs;
}

/** counts[d] = how many points have a digit below d: where digit d's run starts. */
function countDigits(points: Uint32Array, shift: number, counts: Uint32Array): void {
  for (let i = 0; i < points.length; i++) counts[((points[i]! >>> shift) & 0xffff) + 1]!++;
  for (let d = 1; d < counts.length; d++) counts[d]! += counts[d - 1]!;
}
