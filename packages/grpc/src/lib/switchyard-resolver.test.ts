import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as grpc14 from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ValidationError } from '@switchyard/core';
import { InMemoryRegistry } from '@switchyard/registry';
import * as grpc110 from 'grpc-js-1-10';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GrpcModule } from './grpc-module.ts';
import { registerSwitchyardResolver } from './switchyard-resolver.ts';

const PROTO = fileURLToPath(new URL('../../../../examples/grpc/greeter.proto', import.meta.url));
const definition = protoLoader.loadSync(PROTO);

type Grpc = typeof grpc14;
interface HelloReply {
  message: string;
  servedBy: string;
}
interface GreeterClient {
  sayHello(
    request: { name: string },
    options: { deadline: number },
    callback: (error: Error | null, reply: HelloReply) => void,
  ): void;
  close(): void;
}

/** A real grpc-js server on loopback that says which instance answered. */
async function startServer(
  grpc: Grpc,
  id: string,
): Promise<{ id: string; port: number; server: grpc14.Server }> {
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    switchyard: { test: { Greeter: { service: grpc14.ServiceDefinition } } };
  };
  const server = new grpc.Server();
  server.addService(proto.switchyard.test.Greeter.service, {
    sayHello: (call: { request: { name: string } }, callback: (e: null, r: HelloReply) => void) =>
      callback(null, { message: `hello ${call.request.name}`, servedBy: id }),
  } as never);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { id, port, server };
}

function newClient(grpc: Grpc, target: string, serviceConfig?: object): GreeterClient {
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    switchyard: {
      test: { Greeter: new (target: string, credentials: unknown, options?: object) => GreeterClient };
    };
  };
  const options = serviceConfig ? { 'grpc.service_config': JSON.stringify(serviceConfig) } : {};
  return new proto.switchyard.test.Greeter(target, grpc.credentials.createInsecure(), options);
}

function sayHello(client: GreeterClient): Promise<HelloReply> {
  return new Promise((resolve, reject) =>
    client.sayHello({ name: 'you' }, { deadline: Date.now() + 10_000 }, (error, reply) =>
      error ? reject(error) : resolve(reply),
    ),
  );
}

async function servedBy(client: GreeterClient, calls: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < calls; i++) {
    const { servedBy } = await sayHello(client);
    counts[servedBy] = (counts[servedBy] ?? 0) + 1;
  }
  return counts;
}

const require = createRequire(import.meta.url);
const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;
/** The newest grpc-js (the peer range's top) and the oldest minor the range admits. */
const versions: [string, Grpc][] = [
  [versionOf('@grpc/grpc-js'), grpc14],
  [versionOf('grpc-js-1-10'), grpc110 as unknown as Grpc],
];

describe.each(versions)('grpc-js %s with a switchyard:/// target', (version, grpc) => {
  let registry: InMemoryRegistry;
  let servers: Awaited<ReturnType<typeof startServer>>[];
  let client: GreeterClient | undefined;

  beforeEach(async () => {
    registry = new InMemoryRegistry();
    registerSwitchyardResolver(registry, { grpc: grpc as unknown as GrpcModule });
    servers = [];
    for (let i = 1; i <= 3; i++) servers.push(await startServer(grpc, `greeter-${i}`));
    for (const { id, port } of servers)
      await registry.register({ id, service: 'greeter', host: '127.0.0.1', port });
  });

  afterEach(async () => {
    client?.close();
    client = undefined;
    for (const { server } of servers) server.forceShutdown();
    await registry.close();
  });

  it('spreads calls over all three servers (round robin by default)', async () => {
    client = newClient(grpc, 'switchyard:///greeter');
    const counts = await servedBy(client, 30);
    expect(Object.keys(counts).sort()).toEqual(['greeter-1', 'greeter-2', 'greeter-3']);
  });

  it('keeps succeeding when a server is killed and deregistered, and sends to a new one', async () => {
    client = newClient(grpc, 'switchyard:///greeter');
    await servedBy(client, 9);
    const [killed] = servers.splice(1, 1);
    killed!.server.forceShutdown();
    await registry.deregister('greeter', killed!.id);
    const after = await servedBy(client, 30); // any failure rejects
    expect(Object.keys(after).sort()).toEqual(['greeter-1', 'greeter-3']);

    const added = await startServer(grpc, 'greeter-4');
    servers.push(added);
    await registry.register({ id: added.id, service: 'greeter', host: '127.0.0.1', port: added.port });
    let seen = 0;
    for (let i = 0; i < 300 && seen === 0; i++) if ((await sayHello(client)).servedBy === 'greeter-4') seen++;
    expect(seen).toBe(1);
    const spread = await servedBy(client, 30);
    expect(Object.keys(spread).sort()).toEqual(['greeter-1', 'greeter-3', 'greeter-4']);
  });

  it('fails calls with UNAVAILABLE while no instance is registered, and recovers', async () => {
    for (const { id } of servers) await registry.deregister('greeter', id);
    client = newClient(grpc, 'switchyard:///greeter');
    const error = (await sayHello(client).catch((e: unknown) => e)) as { code?: number; details?: string };
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    await registry.register({
      id: servers[0]!.id,
      service: 'greeter',
      host: '127.0.0.1',
      port: servers[0]!.port,
    });
    let reply: HelloReply | undefined;
    for (let i = 0; i < 200 && reply === undefined; i++) {
      reply = await sayHello(client).catch(
        () => new Promise<undefined>((r) => setTimeout(() => r(undefined), 20)),
      );
    }
    expect(reply?.servedBy).toBe('greeter-1');
  });

  it('selects weighted_round_robin through the service config where grpc-js has it', async () => {
    // grpc-js registers weighted_round_robin from 1.14; older versions cannot select it.
    const experimental = grpc.experimental as { isLoadBalancerNameRegistered?: (name: string) => boolean };
    const available = experimental.isLoadBalancerNameRegistered?.('weighted_round_robin') === true;
    expect(available).toBe(!version.startsWith('1.10.'));
    if (!available) return;
    registerSwitchyardResolver(registry, {
      grpc: grpc as unknown as GrpcModule,
      loadBalancingConfig: [{ weighted_round_robin: {} }],
    });
    client = newClient(grpc, 'switchyard:///greeter');
    const counts = await servedBy(client, 30);
    expect(Object.keys(counts).sort()).toEqual(['greeter-1', 'greeter-2', 'greeter-3']);
  });
});

describe('the resolver and its listener', () => {
  /** Registers on a stand-in grpc module to get the resolver class itself. */
  function resolverFor(registry: InMemoryRegistry) {
    let captured: unknown;
    const fake: GrpcModule = {
      experimental: {
        registerResolver: (_scheme: string, cls: never) => {
          captured = cls;
        },
      },
      status: { UNAVAILABLE: 14 },
      Metadata: grpc14.Metadata,
    };
    registerSwitchyardResolver(registry, { grpc: fake });
    return captured as {
      new (
        target: { path: string },
        listener: unknown,
        options: object,
      ): { updateResolution(): void; destroy(): void };
      getDefaultAuthority(target: { path: string }): string;
    };
  }

  it('tells both listener shapes, never synchronously, with weight and zone as endpoint attributes', async () => {
    const registry = new InMemoryRegistry();
    await registry.register({
      id: 'a',
      service: 'greeter',
      host: '127.0.0.1',
      port: 7001,
      weight: 3,
      zone: 'z1',
    });
    const Resolver = resolverFor(registry);
    expect(Resolver.getDefaultAuthority({ path: '/greeter' })).toBe('greeter');

    const calls: unknown[][] = [];
    const fn = (...args: unknown[]) => calls.push(args) > 0;
    const asFunction = new Resolver({ path: '/greeter' }, fn, {});
    asFunction.updateResolution();
    expect(calls).toHaveLength(0); // not synchronously
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(1);
    const [result, attributes, config] = calls[0] as [
      { ok: boolean; value: { addresses: unknown[]; attributes: object }[] },
      object,
      { value: object },
    ];
    expect(result.ok).toBe(true);
    expect(result.value[0]?.addresses).toEqual([{ host: '127.0.0.1', port: 7001 }]);
    expect(result.value[0]?.attributes).toMatchObject({ id: 'a', weight: 3, zone: 'z1' });
    expect(attributes).toEqual({ 'switchyard.service': 'greeter' });
    expect(config.value).toEqual({ loadBalancingConfig: [{ round_robin: {} }], methodConfig: [] });

    const seen: string[] = [];
    const asObject = new Resolver(
      { path: 'greeter' },
      {
        onSuccessfulResolution: (endpoints: unknown[]) => seen.push(`ok ${endpoints.length}`),
        onError: (error: { code: number }) => seen.push(`error ${error.code}`),
      },
      {},
    );
    asObject.updateResolution();
    await new Promise((r) => setImmediate(r));
    await registry.deregister('greeter', 'a');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['ok 1', 'error 14']);

    asFunction.destroy();
    asObject.destroy();
    await registry.register({ id: 'b', service: 'greeter', host: '127.0.0.1', port: 7002 });
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(2); // the deregistration, then nothing after destroy()
    expect(seen).toHaveLength(2);
  });

  it('rejects a bad target, registry or option with a ValidationError', () => {
    const registry = new InMemoryRegistry();
    const Resolver = resolverFor(registry);
    expect(() => Resolver.getDefaultAuthority({ path: '/not a name' })).toThrow(ValidationError);
    expect(() => registerSwitchyardResolver({} as never)).toThrow(ValidationError);
    expect(() => registerSwitchyardResolver(registry, { schema: 'x' } as never)).toThrow(
      /did you mean .*scheme/,
    );
    expect(() => registerSwitchyardResolver(registry, { scheme: 'Bad Scheme' })).toThrow(ValidationError);
  });
});
