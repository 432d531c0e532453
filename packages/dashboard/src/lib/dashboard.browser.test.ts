import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { peakEwma } from '@switchyard/balancers';
import { ServiceDiscoveryClient } from '@switchyard/client';
import { StaticRegistry } from '@switchyard/registry';
import { type Backends, startBackends } from '@switchyard/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../../../../test/support/require-binary.ts';
import { createDashboard, type Dashboard } from './create-dashboard.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = requireBinary(`Chromium (${CHROMIUM}; or set CHROMIUM_PATH)`, existsSync(CHROMIUM));
const SCREENSHOT_DIR = join(import.meta.dirname, '../../../../test-results');

// Skipped only where Chromium is absent outside CI (requireBinary); CI fails instead.
describe.skipIf(!hasChromium)('the dashboard in a real browser (headless Chromium)', () => {
  let backends: Backends;
  let client: ServiceDiscoveryClient;
  let dashboard: Dashboard;
  let browser: Browser;
  let url: string;
  let running = true;
  let traffic: Promise<void>;

  beforeAll(async () => {
    backends = await startBackends(3, { service: 'users' });
    client = new ServiceDiscoveryClient({
      registry: new StaticRegistry({ users: backends.instances() }),
      balancer: peakEwma(),
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 60_000, maxEjectionPercent: 50 },
    });
    dashboard = createDashboard(client, { token: 'admin-token-123', pushIntervalMs: 250 });
    url = await dashboard.listen();
    // Steady traffic: 16 callers in a loop until the test ends.
    traffic = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (running) {
          await client
            .request('users', { method: 'GET', path: '/' })
            .then((res) => res.body.dump())
            .catch(() => undefined);
        }
      }),
    ).then(() => undefined);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    running = false;
    await traffic;
    await browser?.close();
    await dashboard?.close();
    await client?.close();
    await backends?.close();
  });

  it(
    'shows a killed instance as ejected and a slow one losing its share, live',
    { timeout: 90_000 },
    async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      // Without the token the page is refused.
      const refused = await page.goto(url);
      expect(refused?.status()).toBe(401);
      // With it once in the URL: a cookie, and the token leaves the address bar.
      await page.goto(`${url}?token=admin-token-123`);
      expect(page.url()).toBe(url);
      await page.waitForSelector('#status[data-status="live"]');
      await page.waitForSelector('tr[data-instance="users-1"][data-state="routable"]');

      await backends[0]?.down(); // killed
      backends[1]?.slow(40); // slowed
      await page.waitForSelector('tr[data-instance="users-1"][data-state="ejected"]', { timeout: 20_000 });
      // Shares are over the last minute, which began with all three serving: the slow instance's
      // falls as peak-EWMA steers around it, and the healthy one comes to carry most of it.
      const shareOf = async (id: string) =>
        Number(await page.locator(`tr[data-instance="${id}"]`).getAttribute('data-share'));
      const deadline = Date.now() + 40_000;
      for (;;) {
        const slow = await shareOf('users-2');
        const healthy = await shareOf('users-3');
        if (slow < 0.25 && healthy > 0.5) break;
        if (Date.now() > deadline) {
          throw new Error(`users-2 still has ${slow} of the traffic and users-3 only ${healthy}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const events = await page.locator('#events li[data-event="ejected"]').count();
      expect(events).toBeGreaterThanOrEqual(1);
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'dashboard.png'), fullPage: true });
      // The JSON endpoint carries the same data, and the token never appears in it.
      const json = await page.evaluate(async () => (await fetch('state.json')).text());
      expect(JSON.parse(json).services[0].instances).toHaveLength(3);
      expect(json).not.toContain('admin-token-123');
    },
  );
});
