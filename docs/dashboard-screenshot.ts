/**
 * Makes docs/dashboard.png, the README's picture of `etagkit watch --ui`: a real monitor over local origins whose
 * content changes now and then during a week (a virtual clock), the real dashboard, real headless Chromium.
 *   node docs/dashboard-screenshot.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDashboard } from '../src/monitor/dashboard/server.ts';
import { createMonitor } from '../src/monitor/monitor.ts';
import { launchBrowser } from '../test/support/browser.ts';
import { startOrigin } from '../test/support/monitor-origin.ts';

const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'etagkit-screenshot-'));
const [shop, api, news] = await Promise.all([startOrigin(), startOrigin(), startOrigin()]);
const page = (title: string, body: string) => `<html><body><h1>${title}</h1>${body}</body></html>`;
const prices = ['€39.00', '€37.50', '€39.00', '€34.00'];
const status = (cache: string, incidents: number) =>
  JSON.stringify({ components: { api: 'operational', cache, database: 'operational' }, incidents });

let clock = Date.now() - 7 * 24 * HOUR;
const monitor = await createMonitor({ db: join(dir, 'watch.db'), now: () => clock });
const watches = [
  shop.url('/kettle'),
  shop.url('/toasters'),
  shop.url('/offers'),
  shop.url('/legacy/catalogue'),
  api.url('/v1/status'),
  api.url('/v1/changelog'),
  news.url('/feed.json'),
  news.url('/about'),
];
for (const url of watches) await monitor.add({ url, intervalMs: 2 * HOUR });
news.set('/about', { body: page('About', '<p>Since 2011.</p>'), type: 'text/html' });
shop.set('/offers', { body: 'offers of the week', unstableEtag: true });
shop.set('/legacy/catalogue', { body: 'old catalogue', etag: '"l1"' });
for (let step = 0; step < 84; step++) {
  clock += 2 * HOUR;
  const day = Math.floor(step / 12);
  shop.set('/kettle', {
    body: page('Electric kettle', `<p class="price">${prices[Math.floor(step / 24)]}</p><p>In stock</p>`),
    type: 'text/html',
    etag: `"k${Math.floor(step / 24)}"`,
  });
  shop.set('/toasters', {
    body: `toasters: ${4 + Math.floor(day / 3)} models`,
    etag: `"t${Math.floor(day / 3)}"`,
  });
  api.set('/v1/status', {
    body: status(step === 83 || (step > 40 && step < 44) ? 'degraded' : 'operational', step > 40 ? 1 : 0),
    type: 'application/json',
    etag: `"s${step === 83 ? 'x' : step > 40 && step < 44 ? 'd' : step > 40 ? 'b' : 'a'}"`,
  });
  api.set('/v1/changelog', {
    body: `## 2.${4 + Math.floor(step / 30)}.0\n- faster search\n`,
    lastModified: new Date(Date.UTC(2026, 0, 1 + Math.floor(step / 30))).toUTCString(),
  });
  news.set('/feed.json', {
    body: JSON.stringify({
      items: Array.from({ length: 3 + Math.floor(step / 10) }, (_, i) => `story ${i}`),
    }),
    type: 'application/json',
    etag: `"f${Math.floor(step / 10)}"`,
  });
  if (step === 70) shop.set('/legacy/catalogue', { body: '', status: 500 });
  await monitor.checkNow();
}
clock = Date.now();
monitor.stop();
const server = createServer(createDashboard({ monitor }).listener);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await launchBrowser('screenshot');
try {
  const tab = await browser.context.newPage();
  await tab.setViewportSize({ width: 1280, height: 1080 });
  await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await tab.locator(`tr[data-url="${shop.url('/kettle')}"]`).waitFor();
  await tab
    .getByTestId('poll-stats')
    .filter({ hasText: /^ · [3-9] polls/ })
    .waitFor(); // some 304s to show
  await tab.screenshot({ path: new URL('./dashboard.png', import.meta.url).pathname });
} finally {
  await browser.close();
  server.close();
  await monitor.close();
  await Promise.all([shop.close(), api.close(), news.close()]);
  rmSync(dir, { recursive: true, force: true });
}
