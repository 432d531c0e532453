/**
 * Sorts ring points ascending and moves their owners along: a stable LSD radix sort on two
 * 16-bit digits. Linear time, so a 160,000-point ring sorts in a few milliseconds; equal points
 * keep member order, so a rebuild from the same members gives the same ring.
 */
export function sortPoints(points: Uint32Array, owners: Int32Array): void {
  const n = points.length;
  if (n < 2) return;
  const tmpPoints = new Uint32Array(n);
  const tmpOwners = new Int32Array(n);
  const counts = new Uint32Array(65_537);
  pass(points, owners, tmpPoints, tmpOwners, 0, counts);
  counts.fill(0);
  pass(tmpPoints, tmpOwners, points, owners, 16, counts);
}

function pass(
  fromPoints: Uint32Array,
  fromOwners: Int32Array,
  toPoints: Uint32Array,
  toOwners: Int32Array,
  shift: number,
  counts: Uint32Array,
): void {
  const n = fromPoints.length;
  for (let i = 0; i < n; i++) counts[((fromPoints[i]! >>> shift) & 0xffff) + 1]!++;
  for (let d = 1; d < counts.length; d++) counts[d]! += counts[d - 1]!;
  for (let i = 0; i < n; i++) {
    const at = counts[(fromPoints[i]! >>> shift) & 0xffff]!++;
    toPoints[at] = fromPoints[i]!;
    toOwners[at] = fromOwners[i]!;
  }
}
