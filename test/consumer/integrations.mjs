// The integrations from the npm tarballs, in plain Node: fetch('http://users/…') through
// switchyard(client) over real local backends (undici 7, and 8 where it runs), and a grpc-js client dialing
// switchyard:///echo over real local gRPC servers. The peers (undici, @grpc/grpc-js) are the
// ones npm installed for them.
import { once } from 'node:events';
import { createServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { switchyard } from '@switchyard/fetch';
import { registerSwitchyardResolver } from '@switchyard/grpc';
import { InMemoryRegistry, StaticRegistry } from '@switchyard/registry';

// fetch: three HTTP backends named `users`, through each undici major in the peer range that
// runs on this Node (undici 8 needs Node ≥ 22.19).
const [nodeMajor, nodeMinor] = process.versions.node.split('.').map(Number);
const undicis = [['undici 7', await import('undici')]];
if (nodeMajor > 22 || (nodeMajor === 22 && nodeMinor >= 19))
  undicis.push(['undici 8', await import('undici8')]);
for (const [name, { Agent, fetch }] of undicis) {
  const servers = [];
  const users = [];
  for (let i = 1; i <= 3; i++) {
    const server = createServer((_req, res) => res.end(`users-${i}`));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    users.push({ id: `users-${i}`, service: 'users', host: '127.0.0.1', port: server.address().port });
  }
  const client = new ServiceDiscoveryClient({ registry: new StaticRegistry({ users }) });
  const agent = new Agent();
  const dispatcher = agent.compose(switchyard(client));
  const seen = new Set();
  for (let i = 0; i < 6; i++) seen.add(await (await fetch('http://users/hello', { dispatcher })).text());
  if (seen.size !== 3) throw new Error(`${name}: fetch reached ${[...seen].join(', ')}, not all three`);
  console.log(`${name} fetch through switchyard(): http://users/ answered by ${[...seen].sort().join(', ')}`);
  await agent.close();
  await client.close();
  for (const server of servers) server.close();
}

// gRPC: two servers of a JSON echo service, found through the registry.
const json = {
  serialize: (v) => Buffer.from(JSON.stringify(v)),
  deserialize: (b) => JSON.parse(b.toString()),
};
const echo = {
  say: {
    path: '/consumer.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
const registry = new InMemoryRegistry();
const grpcServers = [];
for (let i = 1; i <= 2; i++) {
  const server = new grpc.Server();
  server.addService(echo, {
    say: (call, done) => done(null, { from: `echo-${i}`, text: call.request.text }),
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  grpcServers.push(server);
  await registry.register({ id: `echo-${i}`, service: 'echo', host: '127.0.0.1', port });
}
registerSwitchyardResolver(registry, { grpc });
const Echo = grpc.makeGenericClientConstructor(echo, 'Echo');
const echoClient = new Echo('switchyard:///echo', grpc.credentials.createInsecure());
const from = new Set();
for (let i = 0; i < 6; i++) {
  const answer = await new Promise((resolve, reject) =>
    echoClient.say({ text: 'hi' }, (error, value) => (error ? reject(error) : resolve(value))),
  );
  from.add(answer.from);
}
if (from.size !== 2) throw new Error(`gRPC reached ${[...from].join(', ')}, not both`);
console.log(`grpc-js on switchyard:///echo: answered by ${[...from].sort().join(', ')}`);
echoClient.close();
for (const server of grpcServers) server.forceShutdown();
await registry.close?.();
