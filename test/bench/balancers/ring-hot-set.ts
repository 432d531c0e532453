/**
 * Ring lookups on hot sets: the same 1,000 or 10,000 keys asked again and again, in a fixed
 * pseudo-random order, the case hashring's LRU cache is built for (the balancer bench's distinct
 * keys are its worst case). hashring runs with its default cache (5,000 entries) and with a cache
 * sized to the hot set, as a user who knows the key count would configure it.
 *
 * Figures are CPU ns per lookup, the median of ROUNDS interleaved rounds, with the ratio
 * measured in the same round.
 *
 *   pnpm bench hot-set
 *   node .bench-dist/balancers/ring-hot-set.js [rounds=3]
 */
import { pathToFileURL } from 'node:url';
import { HashRing } from '@switchyard/balancers';
import type { ServiceInstance } from '@switchyard/core';
import KetamaRing from 'hashring';
import { BenchReport } from '../harness/report.ts';
import { interleavedRounds } from '../harness/stats.ts';
import { nsPerOp } from './measure.ts';

const LOOKUPS = 300_000;

/** hashring's constructor also takes a hash algorithm and options (peers.d.ts declares one argument). */
const HashringWithOptions = KetamaRing as unknown as new (
  servers: readonly string[],
  algorithm: string,
  options: { readonly 'max cache size': number },
) => KetamaRing;

const serverName = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`;

function fleet(n: number): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: serverName(i),
    service: 'bench',
    host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 8080,
  }));
}

/** `LOOKUPS` keys drawn from a hot set of `size`, in an order fixed by a seeded generator. */
function hotSequence(size: number): string[] {
  const hot = Array.from({ length: size }, (_, i) => `user:${i}`);
  let state = 0x9e3779b9 ^ size;
  return Array.from({ length: LOOKUPS }, () => {
    // xorshift32: the same sequence on every run.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return hot[(state >>> 0) % size]!;
  });
}

export async function main(rounds = 3): Promise<void> {
  const report = new BenchReport('ring-hot-set');
  for (const instances of [100, 1_000]) {
    const names = fleet(instances).map((instance) => instance.id);
    const ours = new HashRing(fleet(instances));
    for (const hotSize of [1_000, 10_000]) {
      const sequence = hotSequence(hotSize);
      const ketamaDefault = new KetamaRing(names);
      const ketamaSized = new HashringWithOptions(names, 'md5', { 'max cache size': hotSize * 2 });
      const OURS = 'switchyard HashRing (160 vnodes)';
      const DEFAULT = 'hashring (ketama, default 5,000-entry cache)';
      const SIZED = `hashring (ketama, ${(hotSize * 2).toLocaleString('en-US')}-entry cache)`;
      const results = await interleavedRounds(rounds, [
        { name: OURS, run: async () => nsPerOp((i) => ours.get(sequence[i]!), LOOKUPS, 1) },
        { name: DEFAULT, run: async () => nsPerOp((i) => ketamaDefault.get(sequence[i]!), LOOKUPS, 1) },
        { name: SIZED, run: async () => nsPerOp((i) => ketamaSized.get(sequence[i]!), LOOKUPS, 1) },
      ]);
      for (const peer of [DEFAULT, SIZED]) {
        report.add({
          figure: `lookup, ${hotSize.toLocaleString('en-US')}-key hot set, ${instances} instances`,
          unit: 'ns',
          ours: OURS,
          oursRounds: results.get(OURS)!,
          peer,
          peerRounds: results.get(peer)!,
        });
      }
    }
  }
  report.print(
    `Ring lookups on hot sets, ${LOOKUPS.toLocaleString('en-US')} lookups per run (Switchyard ÷ hashring; lower is better)`,
  );
  report.finish();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(Math.max(3, Number(process.argv[2]) || 3));
}
