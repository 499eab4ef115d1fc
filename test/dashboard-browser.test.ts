/**
 * The dashboard in real headless Chromium, over a running monitor watching local origins: the overview loads
 * with every watch's status, a change at an origin appears with what changed, its diff opens (unified and side by
 * side), a watch is paused, added and removed through the page, and while nothing changes the page's polls are
 * answered 304. Screenshots land in test-results/dashboard/ (git-ignored). Waits are on selectors and
 * responses, never on time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page, Response } from 'playwright-core';
import { createDashboard } from '../src/monitor/dashboard/server.ts';
import { createMonitor, type Monitor } from '../src/monitor/monitor.ts';
import { type Browser, launchBrowser } from './support/browser.ts';
import { type Origin, startOrigin } from './support/monitor-origin.ts';

const dir = mkdtempSync(join(tmpdir(), 'etagkit-dashboard-'));
let shop: Origin;
let api: Origin;
let monitor: Monitor;
let server: Server;
let base: string;
let browser: Browser;
let page: Page;

const kettle = (price: string) =>
  `<html><body><h1>Electric kettle</h1><p class="price">${price}</p><p>In stock: 12</p></body></html>`;
const status = (cache: string) =>
  JSON.stringify({ components: { api: 'operational', cache, database: 'operational' }, incidents: 0 });

before(async () => {
  [shop, api] = await Promise.all([startOrigin(), startOrigin()]);
  shop.set('/kettle', { body: kettle('€39.00'), type: 'text/html', etag: '"k1"' });
  shop.set('/catalogue', { body: 'catalogue v1\nkettles\ntoasters\n', etag: '"c1"' });
  shop.set('/offers', { body: 'offers of the week', unstableEtag: true });
  shop.set('/legacy', { body: '', status: 500 });
  api.set('/v1/status', { body: status('operational'), type: 'application/json', etag: '"s1"' });
  api.set('/v1/changelog', {
    body: '## 2.4.0\n- faster search\n',
    lastModified: 'Mon, 02 Mar 2026 10:00:00 GMT',
  });
  monitor = await createMonitor({ db: join(dir, 'watch.db') });
  await monitor.add({ url: shop.url('/kettle'), intervalMs: 1000 }); // found by the schedule when it changes
  for (const url of [shop.url('/catalogue'), shop.url('/offers'), shop.url('/legacy')])
    await monitor.add({ url, intervalMs: 3_600_000 });
  for (const url of [api.url('/v1/status'), api.url('/v1/changelog')])
    await monitor.add({ url, intervalMs: 3_600_000 });
  // Some history: validators proven by a few rounds, a JSON change already seen.
  for (let i = 0; i < 3; i++) await monitor.checkNow();
  api.set('/v1/status', { body: status('degraded'), type: 'application/json', etag: '"s2"' });
  await monitor.checkNow();
  await monitor.start();
  server = createServer(createDashboard({ monitor, pollIntervalMs: 200 }).listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser('dashboard');
  page = await browser.context.newPage();
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  server?.close();
  await monitor?.close();
  await Promise.all([shop?.close(), api?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const row = (url: string) => page.locator(`tr[data-url="${url}"]`);
const shot = (name: string) =>
  page.screenshot({ path: join(browser.artefacts, `${name}.png`), fullPage: true });

test('the overview lists every watch with its status, the latest change first', async () => {
  await page.goto(base);
  await row(api.url('/v1/status')).locator('[data-status="changed"]').waitFor();
  await row(shop.url('/legacy')).locator('[data-status="error"]').waitFor();
  await row(shop.url('/offers')).locator('[data-status="unreliable"]').waitFor();
  await row(shop.url('/catalogue')).locator('[data-status="ok"]').waitFor();
  assert.match(
    String(await page.getByTestId('headline').textContent()),
    /1 watch changed in the last 24 hours/,
  );
  const card = page.getByTestId('change-card').first();
  assert.match(String(await card.textContent()), /\/components\/cache/);
  assert.match(String(await card.textContent()), /"degraded"/);
  // Most urgent first: the error, then the change.
  const order = await page
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-url')));
  assert.deepEqual(order.slice(0, 2), [shop.url('/legacy'), api.url('/v1/status')]);
  await page.getByLabel('Search URLs').fill('catalogue');
  await page.locator('tbody tr').first().waitFor();
  assert.equal(await page.locator('tbody tr').count(), 1);
  await page.getByLabel('Search URLs').fill('');
  await page.getByRole('button', { name: /^Error/ }).click();
  await page.locator('tbody tr').nth(1).waitFor({ state: 'detached' });
  assert.equal(await page.locator('tbody tr').count(), 1);
  await page.getByRole('button', { name: /^All/ }).click();
  await shot('overview');
});

test('a change at the origin appears on the open page, with what changed', async () => {
  shop.set('/kettle', { body: kettle('€34.00'), type: 'text/html', etag: '"k2"' });
  await row(shop.url('/kettle')).locator('[data-status="changed"]').waitFor({ timeout: 20_000 });
  await page.getByTestId('change-card').filter({ hasText: '€34.00' }).waitFor();
  assert.match(String(await page.getByTestId('headline').textContent()), /2 watches changed/);
  await shot('overview-after-change');
});

test('the watch page shows its diff, unified and side by side, and why each check decided', async () => {
  await row(shop.url('/kettle')).getByRole('link').click();
  const diff = page.getByTestId('diff');
  await diff.locator('ins', { hasText: '€34.00' }).waitFor();
  await diff.locator('del', { hasText: '€39.00' }).waitFor();
  await page.getByRole('button', { name: 'Side by side' }).click();
  await diff.locator('table.split td.added', { hasText: '€34.00' }).waitFor();
  const history = page.getByTestId('history');
  await history.getByText('The content changed (told by its').first().waitFor();
  await history.getByText('First sighting of this content.').waitFor();
  await shot('watch-diff');
  await assertNoSidewaysScroll();
});

test('pausing through the page is kept in the history', async () => {
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  await page.locator('.watch-status .badge.paused').waitFor();
  const stored = await monitor.store.watch(shop.url('/kettle'));
  assert.equal(stored?.paused, true);
});

test('while nothing changes, the open page polls and is answered 304', async () => {
  await page.goto(`${base}/#/`);
  await row(shop.url('/kettle')).waitFor();
  await monitor.stop(); // no scheduled check may move the history during the count
  const statuses = await apiResponses(page, '/api/overview', 6);
  // The first may still carry a check that landed since the page loaded; the rest must be 304s.
  assert.deepEqual(statuses.slice(1), [304, 304, 304, 304, 304], `statuses: ${statuses.join(', ')}`);
  assert.match(String(await page.getByTestId('poll-stats').textContent()), /answered 304/);
  await monitor.start();
});

test('a watch is added and removed through the page, in the history too', async () => {
  shop.set('/toasters', { body: 'toasters: 4 models', etag: '"t1"' });
  const url = shop.url('/toasters');
  await page.getByLabel('Watch a URL').fill(url);
  await page.getByLabel('Every').fill('10m');
  await page.getByRole('button', { name: 'Add watch' }).click();
  await row(url).waitFor();
  const added = await monitor.store.watch(url);
  assert.equal(added?.definition.intervalMs, 600_000);

  await page.getByLabel('Watch a URL').fill('ftp://example.com/');
  await page.getByRole('button', { name: 'Add watch' }).click();
  await page.getByRole('alert').filter({ hasText: 'not an http:// or https:// URL' }).waitFor();

  await row(url).getByRole('link').click();
  await page.getByRole('button', { name: 'Remove…' }).click();
  await page.getByRole('button', { name: 'Remove', exact: true }).click();
  await page.getByTestId('headline').waitFor();
  await row(url).waitFor({ state: 'detached' });
  assert.equal(await monitor.store.watch(url), undefined);
});

test('the timeline charts checks and bytes against a poller without validators', async () => {
  await page.getByRole('link', { name: 'Timeline' }).click();
  await page.getByTestId('chart-activity').locator('canvas').waitFor();
  await page.getByTestId('chart-traffic').locator('canvas').waitFor();
  assert.match(
    String(await page.getByTestId('timeline-totals').textContent()),
    /polling without validators would have received/,
  );
  await shot('timeline');
});

test('at a phone’s width the overview still reads', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/#/`);
  await row(shop.url('/kettle')).waitFor();
  await shot('overview-narrow');
  await assertNoSidewaysScroll();
  await row(shop.url('/kettle')).getByRole('link').click();
  await page.getByTestId('diff').locator('ins', { hasText: '€34.00' }).waitFor();
  await shot('watch-narrow');
  await assertNoSidewaysScroll();
  await page.setViewportSize({ width: 1280, height: 860 });
});

async function assertNoSidewaysScroll(): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
}

test('with a token: the page asks for it, or takes it from the address and keeps it out of it', async () => {
  const token = 'browser-test-token-0123456789';
  const guarded = createServer(createDashboard({ monitor, token, pollIntervalMs: 200 }).listener);
  await new Promise<void>((resolve) => guarded.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(guarded.address() as AddressInfo).port}/`;
  const tab = await browser.context.newPage();
  try {
    await tab.goto(url);
    await tab.getByText('This dashboard needs its token').waitFor();
    await tab.getByLabel('Token').fill(token);
    await tab.getByRole('button', { name: 'Open' }).click();
    await tab.locator(`tr[data-url="${shop.url('/kettle')}"]`).waitFor();
    const fresh = await browser.context.newPage(); // a new tab: its own session storage, no token yet
    await fresh.goto(`${url}#token=${token}`);
    await fresh.locator(`tr[data-url="${shop.url('/kettle')}"]`).waitFor();
    assert.equal(new URL(fresh.url()).hash, '', 'the token is taken out of the address bar');
    await fresh.close();
  } finally {
    await tab.close();
    guarded.closeAllConnections();
    guarded.close();
  }
});

/** The statuses of the next `count` responses of an API path, in order. */
function apiResponses(page: Page, path: string, count: number): Promise<number[]> {
  return new Promise((resolve) => {
    const statuses: number[] = [];
    const onResponse = (response: Response) => {
      if (new URL(response.url()).pathname !== path) return;
      statuses.push(response.status());
      if (statuses.length === count) {
        page.off('response', onResponse);
        resolve(statuses);
      }
    };
    page.on('response', onResponse);
  });
}
