/**
 * Long-poll fan-out: W watchers long-poll a service of N instances on the embedded registry
 * server (in a child process); one registration wakes them all. Reports the server's RSS before
 * and at its peak, and the time until every watcher has its full answer.
 *
 *   npx -y pnpm@10.34.8 bench watcher-fanout
 *   node --expose-gc .bench-dist/registry/watcher-fanout-bench.js [watchers=2000] [instances=5000]
 *
 * Bounded: gives up after 60 s and reports how many watchers were answered by then (and
 * within 20 s). Wall-clock figures on a shared 2-core machine: compare orders of magnitude.
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { pathToFileURL } from 'node:url';
import { siblingScript } from '../harness/children.ts';

interface Reply {
  port?: number;
  rss?: number;
  peak?: number;
}

const MB = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;

export async function main(watchers = 2_000, instances = 5_000): Promise<void> {
  // The bundled fanout-server.js under `pnpm bench`, the .ts under tsx when run from source.
  const { args: scriptArgs } = siblingScript(import.meta.url, 'fanout-server');
  const script = scriptArgs.pop()!;
  const child = fork(script, [String(instances)], { execArgv: scriptArgs, stdio: 'inherit' });
  const replies: Reply[] = [];
  let wake: (() => void) | undefined;
  child.on('message', (reply: Reply) => {
    replies.push(reply);
    wake?.();
  });
  const next = async (): Promise<Reply> => {
    while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return replies.shift() as Reply;
  };
  const { port } = await next();
  const base = `http://127.0.0.1:${port}`;
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

  const get = (path: string) =>
    new Promise<{ status: number; headers: Record<string, unknown>; bytes: number }>((resolve, reject) => {
      const req = request(`${base}${path}`, { agent }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      });
      req.on('error', reject);
      req.end();
    });

  const first = await get('/services/big');
  const index = Number(first.headers['x-registry-index']);
  let connected = 0;
  let answered = 0;
  let refused = 0;
  let answeredBy20s = 0;
  let startedAt = 0;
  const done = Array.from(
    { length: watchers },
    () =>
      new Promise<void>((resolve) => {
        const req = request(`${base}/services/big?index=${index}&waitMs=60000`, { agent }, (res) => {
          res.on('data', () => {});
          res.on('end', () => {
            if (res.statusCode === 200) answered++;
            else refused++;
            if (performance.now() - startedAt <= 20_000) answeredBy20s++;
            resolve();
          });
        });
        req.on('socket', (socket) => {
          if (socket.connecting) socket.once('connect', () => connected++);
          else connected++; // a reused keep-alive socket
        });
        req.on('error', () => resolve());
        req.end();
      }),
  );
  while (connected < watchers) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // every poll reached the server
  child.send('rss');
  const before = await next();

  startedAt = performance.now();
  const register = request(`${base}/register`, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json' },
  });
  register.end(JSON.stringify({ id: 'new', service: 'big', host: '10.9.9.9', port: 8080 }));
  const all = Promise.all(done).then(() => performance.now() - startedAt);
  const elapsed = await Promise.race([
    all,
    new Promise<number>((resolve) => setTimeout(() => resolve(-1), 60_000)),
  ]);
  child.send('rss');
  const after = await next();

  console.log(`\nLong-poll fan-out: ${watchers} watchers, ${instances} instances, one registration`);
  console.table([
    {
      'RSS before': MB(before.rss ?? 0),
      'RSS peak': MB(after.peak ?? 0),
      'all answered in': elapsed < 0 ? 'not within 60 s' : `${Math.round(elapsed)} ms`,
      'answered within 20 s': `${answeredBy20s}/${watchers}`,
      answered,
      'refused (503)': refused,
    },
  ]);
  agent.destroy();
  child.send('close');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(Number(process.argv[2] ?? 2_000), Number(process.argv[3] ?? 5_000));
  process.exit(0);
}
