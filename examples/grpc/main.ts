/**
 * A grpc-js client dialing `switchyard:///greeter`: three real gRPC servers found through a
 * Switchyard registry, calls spread over them by round robin, one server stopped and
 * deregistered without a failed call, and a new one receiving traffic as soon as it registers.
 *
 *   npx -y pnpm@10.34.8 exec tsx examples/grpc/main.ts
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { registerSwitchyardResolver } from '@switchyard/grpc';
import { InMemoryRegistry } from '@switchyard/registry';

interface HelloReply {
  message: string;
  servedBy: string;
}
interface GreeterClient extends grpc.Client {
  sayHello(
    request: { name: string },
    callback: (error: grpc.ServiceError | null, reply: HelloReply) => void,
  ): void;
}
interface GreeterPackage {
  switchyard: {
    test: {
      Greeter: grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition };
    };
  };
}

const definition = protoLoader.loadSync(fileURLToPath(new URL('./greeter.proto', import.meta.url)));
const proto = grpc.loadPackageDefinition(definition) as unknown as GreeterPackage;

async function startGreeter(id: string): Promise<{ id: string; port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(proto.switchyard.test.Greeter.service, {
    sayHello: (
      call: grpc.ServerUnaryCall<{ name: string }, HelloReply>,
      callback: grpc.sendUnaryData<HelloReply>,
    ) => callback(null, { message: `hello ${call.request.name}`, servedBy: id }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { id, port, server };
}

export async function main(log: (line: string) => void = console.log) {
  const registry = new InMemoryRegistry();
  const greeters = await Promise.all(['greeter-1', 'greeter-2', 'greeter-3'].map(startGreeter));
  for (const { id, port } of greeters)
    await registry.register({ id, service: 'greeter', host: '127.0.0.1', port });

  // The lines an application adds: register the resolver once, then dial switchyard:///<service>.
  registerSwitchyardResolver(registry);
  const client = new proto.switchyard.test.Greeter(
    'switchyard:///greeter',
    grpc.credentials.createInsecure(),
  ) as unknown as GreeterClient;

  let failed = 0;
  const calls = async (count: number) => {
    const servedBy = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const reply = await new Promise<HelloReply | undefined>((resolve) =>
        client.sayHello({ name: `call ${i}` }, (error, answer) => {
          if (error) {
            failed++;
            log(`  ✗ call failed: ${error.message}`);
          }
          resolve(error ? undefined : answer);
        }),
      );
      if (reply) servedBy.set(reply.servedBy, (servedBy.get(reply.servedBy) ?? 0) + 1);
    }
    return servedBy;
  };
  const show = (servedBy: Map<string, number>) => [...servedBy].map(([id, n]) => `${id} ${n}`).join(', ');

  log(`30 calls: ${show(await calls(30))}`);

  log('stopping greeter-2 and deregistering it');
  greeters[1]!.server.forceShutdown();
  await registry.deregister('greeter', 'greeter-2');
  const afterStop = await calls(30);
  log(`30 calls: ${show(afterStop)}; failed so far: ${failed}`);

  const added = await startGreeter('greeter-4');
  greeters.push(added);
  await registry.register({ id: added.id, service: 'greeter', host: '127.0.0.1', port: added.port });
  log('greeter-4 registered');
  // Round robin sends to a new server once its connection is up: call until it answers.
  let untilNew = 0;
  while (untilNew < 500 && !(await calls(1)).has('greeter-4')) untilNew++;
  const afterAdd = await calls(30);
  log(`30 calls: ${show(afterAdd)}; failed: ${failed}`);

  client.close();
  for (const { server } of greeters) server.forceShutdown();
  await registry.close();
  return { failed, afterStop: [...afterStop.keys()].sort(), afterAdd: [...afterAdd.keys()].sort() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
