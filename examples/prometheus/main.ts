// Switchyard metrics scraped by Prometheus: the OpenTelemetry SDK with its Prometheus exporter,
// a client over three real backends (one killed halfway), and one scrape of /metrics printed.
//
//   npx -y pnpm@10.34.8 exec tsx examples/prometheus/main.ts
import { pathToFileURL } from 'node:url';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { instrument } from '@switchyard/opentelemetry';
import { StaticRegistry } from '@switchyard/registry';
import { startBackends } from '@switchyard/testing';

export async function main(log: (line: string) => void = console.log): Promise<string> {
  // Prometheus scrapes http://127.0.0.1:<port>/metrics; port 0 picks a free one for the demo.
  const exporter = new PrometheusExporter({ host: '127.0.0.1', port: 0, preventServerStart: true });
  await exporter.startServer();
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const backends = await startBackends(3, { service: 'users' });
  const client = new ServiceDiscoveryClient({
    registry: new StaticRegistry({ users: backends.instances() }),
  });
  const otel = instrument({ client, meterProvider, spans: false });
  try {
    for (let i = 0; i < 60; i++) {
      if (i === 30) await backends[0]?.down();
      const res = await client.request('users', { method: 'GET', path: '/' });
      await res.body.dump();
    }
    const address = (exporter as unknown as { _server: import('node:http').Server })._server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const lines = scrape
      .split('\n')
      .filter((line) => /^(http_client|switchyard_)/.test(line) && !line.includes('_bucket'));
    for (const line of lines) log(line);
    return scrape;
  } finally {
    otel.close();
    await client.close();
    await backends.close();
    await meterProvider.shutdown();
    await exporter.stopServer();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
