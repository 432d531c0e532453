import type { HeapProfiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';
import { Attribution, type CallFrame, type FrameOrigins } from './frame-origins.ts';

/**
 * Runs `body` under V8's sampling heap profiler (about one sample per `intervalBytes` allocated),
 * counting objects that die young too: what a request allocates, not what it keeps.
 */
export async function allocationsWhile(
  intervalBytes: number,
  body: () => Promise<void>,
): Promise<HeapProfiler.SamplingHeapProfile> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.enable');
    // Without these two flags the profile holds only the objects still alive when it stops.
    const parameters = {
      samplingInterval: intervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    };
    await session.post('HeapProfiler.startSampling', parameters);
    let stopped: HeapProfiler.StopSamplingReturnType;
    try {
      await body();
    } finally {
      stopped = await session.post('HeapProfiler.stopSampling');
    }
    await session.post('HeapProfiler.disable');
    return stopped.profile;
  } finally {
    session.disconnect();
  }
}

/** Bytes allocated, attributed to the function that allocated them (the top of the stack). */
export interface Allocations extends Attribution {
  readonly totalBytes: number;
}

export function allocations(profile: HeapProfiler.SamplingHeapProfile, origins: FrameOrigins): Allocations {
  const attribution = new Attribution(origins);
  let totalBytes = 0;
  let nextId = 0;
  // Depth-first with the path from the root, so that a node's callers are at hand.
  const path: CallFrame[] = [];
  function* callers(): Generator<CallFrame> {
    for (let i = path.length - 2; i >= 0; i--) yield path[i]!;
  }
  const visit = (node: HeapProfiler.SamplingHeapProfileNode) => {
    path.push(node.callFrame);
    if (node.selfSize > 0) {
      totalBytes += node.selfSize;
      attribution.add(node.callFrame, node.selfSize, callers, nextId++);
    }
    for (const child of node.children) visit(child);
    path.pop();
  };
  visit(profile.head);
  return Object.assign(attribution, { totalBytes });
}
