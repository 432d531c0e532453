import { expect, it } from 'vitest';
import { main } from './main.ts';

it(
  'exposes the request histogram and switchyard counters to a Prometheus scrape',
  { timeout: 60_000 },
  async () => {
    const scrape = await main(() => undefined);
    expect(scrape).toMatch(/^http_client_request_duration_bucket\{.*server_address="users".*\} \d+/m);
    expect(scrape).toMatch(/^switchyard_client_picks_total\{.*switchyard_service="users".*\} \d+/m);
    expect(scrape).toMatch(/^switchyard_client_retries_total\{switchyard_service="users".*\} [1-9]/m);
    expect(scrape).toMatch(/error_type="ECONNREFUSED"/);
  },
);
