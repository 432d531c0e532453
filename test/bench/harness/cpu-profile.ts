import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';
import { Attribution, type CallFrame, type FrameOrigins } from './frame-origins.ts';

/** Runs `body` under V8's sampling CPU profiler (one sample every `intervalUs`); returns the profile. */
export async function profileWhile(intervalUs: number, body: () => Promise<void>): Promise<Profiler.Profile> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    let stopped: Profiler.StopReturnType;
    try {
      await body();
    } finally {
      // Stop even when body throws, so the profiler's sampling thread does not outlive the run.
      stopped = await session.post('Profiler.stop');
    }
    await session.post('Profiler.disable');
    return stopped.profile;
  } finally {
    session.disconnect();
  }
}

/** Self time (µs) of one CPU profile, attributed to where the code lives. */
export interface SelfTimes extends Attribution {
  /** All sampled time, idle included, µs. */
  readonly sampledUs: number;
  readonly samples: number;
}

/**
 * Self time of every node: each sample stands for the time until the next one (the last for the
 * mean interval), counted for the node on top of the stack when it was taken.
 */
export function selfTimes(profile: Profiler.Profile, origins: FrameOrigins): SelfTimes {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, Profiler.ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  function* callers(id: number): Generator<CallFrame> {
    for (let up = parentOf.get(id); up; up = parentOf.get(up.id)) yield up.callFrame;
  }
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const meanUs = samples.length > 0 ? (profile.endTime - profile.startTime) / samples.length : 0;
  const attribution = new Attribution(origins);
  let sampledUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!);
    if (!node) continue;
    const us = i + 1 < deltas.length ? Math.max(0, deltas[i + 1]!) : meanUs;
    sampledUs += us;
    attribution.add(node.callFrame, us, () => callers(node.id), node.id);
  }
  return Object.assign(attribution, { sampledUs, samples: samples.length });
}
