import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { createRegistryServer, HttpRegistry, type RegistryServer } from '@switchyard/registry';
import { afterEach, describe, expect, it, vi } from 'vitest';

const script = fileURLToPath(new URL('./fixtures/draining-backend.ts', import.meta.url));
// Long enough for a long-poll watch and two failed 100 ms health checks on a loaded machine.
const DRAIN_MS = 2500;
const eventually = { timeout: 20_000, interval: 50 };

interface Backend {
  readonly id: string;
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  /** Resolves with the exit code and what the process printed about its requests. */
  readonly exited: Promise<{ code: number | null; served: number; servedDraining: number }>;
}

const children: ChildProcess[] = [];
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const close of closers.splice(0).reverse()) await close();
});

function startBackend(id: string, registryUrl: string): Backend {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, REGISTRY_URL: registryUrl, INSTANCE_ID: id, DRAIN_MS: String(DRAIN_MS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let output = '';
  let markReady: () => void = () => {};
  let failReady: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('ready ')) markReady();
  });
  // A backend that dies before registering fails the test now, not at its timeout.
  child.once('exit', (code) => failReady(new Error(`${id} exited (${code}) before it was ready`)));
  const exited = once(child, 'exit').then(([code]) => {
    const [, served = '0', servedDraining = '0'] = /served (\d+) (\d+)/.exec(output) ?? [];
    return { code: code as number | null, served: Number(served), servedDraining: Number(servedDraining) };
  });
  return { id, child, ready, exited };
}

/** Steady traffic from one client: `workers` loops alternating GET and POST until stopped. */
function traffic(client: ServiceDiscoveryClient, workers: number) {
  const tally = {
    get: { ok: 0, failed: 0 },
    post: { ok: 0, failed: 0 },
    byInstance: {} as Record<string, number>,
    answeredWhileDraining: 0,
    errors: [] as string[],
  };
  let running = true;
  const loop = async (worker: number) => {
    for (let n = worker; running; n++) {
      const post = n % 2 === 1;
      const count = post ? tally.post : tally.get;
      try {
        const res = await client.request('users', {
          method: post ? 'POST' : 'GET',
          path: '/work',
          body: post ? JSON.stringify({ n }) : undefined,
        });
        const answer = (await res.body.json()) as { instance: string; draining: boolean };
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
        count.ok++;
        tally.byInstance[answer.instance] = (tally.byInstance[answer.instance] ?? 0) + 1;
        if (answer.draining) tally.answeredWhileDraining++;
      } catch (error) {
        count.failed++;
        if (tally.errors.length < 10) tally.errors.push(String(error));
      }
    }
  };
  const loops = Promise.all(Array.from({ length: workers }, (_, worker) => loop(worker)));
  return {
    tally,
    stop: async () => {
      running = false;
      await loops;
    },
  };
}

const ids = async (client: ServiceDiscoveryClient) =>
  (await client.getInstances('users')).map((instance) => instance.id).sort();

describe('rolling restart of self-registered backends', () => {
  it('3 backends replaced one at a time under steady GET and POST traffic: 0 failed calls', async () => {
    const server: RegistryServer = await createRegistryServer({ port: 0 });
    closers.push(() => server.close());
    const first = ['users-1', 'users-2', 'users-3'].map((id) => startBackend(id, server.url));
    await Promise.all(first.map((backend) => backend.ready));

    const makeClient = (healthChecked: boolean) => {
      const registry = new HttpRegistry({ url: server.url });
      const client = new ServiceDiscoveryClient({
        registry,
        // Generous: a slow attempt on a loaded machine must not turn into a failed POST.
        timeoutMs: 15_000,
        ...(healthChecked && {
          healthCheck: {
            type: 'http' as const,
            path: '/health',
            intervalMs: 100,
            unhealthyThreshold: 2,
            healthyThreshold: 1,
          },
        }),
      });
      closers.push(async () => {
        await client.close();
        await registry.close();
      });
      return client;
    };
    const plain = makeClient(false);
    const checked = makeClient(true);
    const all = ['users-1', 'users-2', 'users-3'];
    await vi.waitFor(async () => expect(await ids(plain)).toEqual(all), eventually);
    await vi.waitFor(async () => expect(await ids(checked)).toEqual(all), eventually);

    const plainTraffic = traffic(plain, 4);
    const checkedTraffic = traffic(checked, 4);
    const exits: Array<Awaited<Backend['exited']> & { id: string }> = [];
    const expected = new Set(all);
    for (const [index, old] of first.entries()) {
      // Wait until each client has sent this backend some of its traffic, then replace it.
      await vi.waitFor(() => {
        expect(plainTraffic.tally.byInstance[old.id]).toBeGreaterThan(10);
        expect(checkedTraffic.tally.byInstance[old.id]).toBeGreaterThan(10);
      }, eventually);
      old.child.kill('SIGTERM');
      const replacement = startBackend(`users-${index + 4}`, server.url);
      const [exit] = await Promise.all([old.exited, replacement.ready]);
      exits.push({ id: old.id, ...exit });
      expected.delete(old.id);
      expected.add(replacement.id);
      const now = [...expected].sort();
      await vi.waitFor(async () => expect(await ids(plain)).toEqual(now), eventually);
      await vi.waitFor(async () => expect(await ids(checked)).toEqual(now), eventually);
    }
    // The last replacement takes traffic too before the traffic stops.
    await vi.waitFor(() => {
      expect(plainTraffic.tally.byInstance['users-6']).toBeGreaterThan(10);
      expect(checkedTraffic.tally.byInstance['users-6']).toBeGreaterThan(10);
    }, eventually);
    await Promise.all([plainTraffic.stop(), checkedTraffic.stop()]);

    const figures = { plain: plainTraffic.tally, checked: checkedTraffic.tally, exits };
    console.log(`rolling restart: ${JSON.stringify(figures)}`);
    for (const { tally } of [plainTraffic, checkedTraffic]) {
      expect(tally.errors).toEqual([]);
      expect(tally.get.failed).toBe(0);
      expect(tally.post.failed).toBe(0);
      expect(tally.get.ok).toBeGreaterThan(50);
      expect(tally.post.ok).toBeGreaterThan(50);
      for (const id of ['users-1', 'users-2', 'users-3', 'users-4', 'users-5', 'users-6']) {
        expect(tally.byInstance[id]).toBeGreaterThan(0);
      }
    }
    // Each old backend drained and exited on its own (code 0, not killed), having served calls.
    for (const exit of exits) {
      expect(exit.code).toBe(0);
      expect(exit.served).toBeGreaterThan(0);
    }
  }, 60_000);
});
