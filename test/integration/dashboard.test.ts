/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against the whole path: agent fed
 * with the sample log, Redis, rkvdns, unbound, `totalize serve`. It must show what `totalize --format json` shows,
 * follow new lines without a reload, change with the window, fit a phone, load nothing from elsewhere, log no
 * error, and show the diagnosis when rkvdns is gone.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG, startServeStack, type ServeStack } from '../helpers/serve-stack.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

let stack: ServeStack;
let browser: Browser;
let page: Page;
const requests: string[] = [];
const errors: string[] = [];
let navigations = 0;

beforeAll(async () => {
  stack = await startServeStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('framenavigated', (f) => void (f === page.mainFrame() && navigations++));
  await page.goto(stack.base + '/');
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The numbers a panel's table shows in one measure's column, by group. */
const shown = (name: string, measure: string): Promise<Record<string, number>> =>
  page.$$eval(
    `section[data-totalizer="${name}"] tbody tr[data-group]`,
    (rows, m): Record<string, number> =>
      Object.fromEntries(
        rows.map((r) => [r.getAttribute('data-group') ?? '', Number(r.querySelector(`td[data-measure="${m}"]`)?.textContent?.replace(/,/g, ''))]),
      ),
    measure,
  );

const client200 = LOG.filter((l) => /^10\.0\.0\.200 .*" 200 /.test(l)).length;

describe('the dashboard', () => {
  it('a chart and a table per totalizer, the values totalize --format json gives', async () => {
    for (const name of ['web_client', 'web_bytes']) {
      await page.waitForSelector(`section[data-totalizer="${name}"] tbody tr[data-group]`);
      expect(await page.$$(`section[data-totalizer="${name}"] .chart canvas`)).not.toHaveLength(0);
    }
    const counts = (await stack.cliJson('web_client', '--window', '1h', '--top', '10')).groups as { group: string; count: number }[];
    expect(await shown('web_client', 'count')).toEqual(Object.fromEntries(counts.map((g) => [g.group, g.count])));
    const sums = (await stack.cliJson('web_bytes', '--window', '1h', '--top', '10')).groups as { group: string; sum: number; avg: number }[];
    expect(await shown('web_bytes', 'sum')).toEqual(Object.fromEntries(sums.map((g) => [g.group, g.sum])));
    expect(await shown('web_bytes', 'avg')).toEqual(Object.fromEntries(sums.map((g) => [g.group, Math.round(g.avg * 1000) / 1000])));
    expect(await page.textContent('section[data-totalizer="web_client"] .asof')).toMatch(/^as of .+, ≤ 2 s old$/);
  });

  it('new lines show after the TTL, without a reload', async () => {
    const line = LOG.find((l) => /^10\.0\.0\.200 .*" 200 /.test(l))!;
    await stack.feed(Array.from({ length: 100 }, () => line));
    await page.waitForFunction(
      (want) => document.querySelector('section[data-totalizer="web_client"] tr[data-group="10.0.0.200,200"] td[data-measure="count"]')?.textContent === want,
      (client200 + 100).toLocaleString('en'),
      { timeout: 30_000 },
    );
    expect(navigations).toBe(1);
  });

  it('the window selector asks for that window', async () => {
    const asked = page.waitForRequest((r) => r.url().includes('/api/totals/web_bytes') && r.url().includes('window=15m'));
    await page.selectOption('#window', '15m');
    await asked;
    expect(new URL(page.url()).searchParams.get('window')).toBe('15m');
  });

  it('fits a phone: one column, nothing wider than the screen', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    phone.on('request', (r) => requests.push(r.url()));
    await phone.goto(stack.base + '/');
    await phone.waitForSelector('section[data-totalizer="web_bytes"] tbody tr[data-group]');
    const [a, b] = await phone.$$eval('section.panel', (ps) => ps.map((p) => p.getBoundingClientRect().toJSON() as DOMRect));
    expect(b!.top).toBeGreaterThanOrEqual(a!.bottom);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.close();
  });

  it('loads nothing from any other origin and logs no error', () => {
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.filter((u) => !u.startsWith(stack.base + '/'))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('rkvdns gone: each panel shows the diagnosis, not a blank page', async () => {
    await stack.rkvdns.stop();
    await page.waitForSelector('section[data-totalizer="web_client"].failed .error', { timeout: 40_000 });
    expect(await page.textContent('section[data-totalizer="web_client"] .error')).toMatch(/web_client: listing web_client;[^]*tried: [^]*likely causes: /);
    // What was shown stays, dimmed, under the error.
    expect(Object.keys(await shown('web_client', 'count')).length).toBeGreaterThan(0);
  });
});
