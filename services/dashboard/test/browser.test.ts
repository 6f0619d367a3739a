import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE } from './fixtures/hostile.js';
import { buildWorld, type World } from './fixtures/world.fixture.js';

// The page in a real browser (Debian's Chromium driven by playwright-core), over a small world whose
// text fields are hostile. `.ci/run` installs Chromium; without it this suite says so and skips.
const CHROMIUM = '/usr/bin/chromium';

// The little of the DOM the in-page callbacks use, typed here (the root tsconfig has no DOM lib).
interface DomNode {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  width: number;
  value: string;
}
declare const document: {
  body: DomNode & { innerText: string };
  querySelectorAll(selector: string): { length: number };
  querySelector(selector: string): DomNode | null;
};
declare const window: Record<string, unknown>;
declare function getComputedStyle(node: unknown): { display: string };
const available = existsSync(CHROMIUM);
if (!available)
  console.warn(
    `[dashboard browser test] skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`,
  );

const root = fileURLToPath(new URL('../../../', import.meta.url));
const screenshots = join(root, 'test-results', 'dashboard');

const CHARTS: Record<string, number> = { historical: 10, predictive: 6, operations: 2 };
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

let world: World;
let browser: BrowserContext;
let page: Page;
let base: string;
let userData: string;
const dialogs: string[] = [];
const consoleErrors: string[] = [];

async function api<T>(path: string): Promise<T> {
  const response = await fetch(new URL(path, base));
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

async function open(view: string, query = ''): Promise<void> {
  await page.goto(`${base}#${view}${query}`);
  await ready(view);
}

async function ready(view: string): Promise<void> {
  await page.waitForSelector(`body[data-ready="true"][data-view="${view}"]`, { timeout: 20_000 });
  // Every chart of the view has been drawn on a canvas that has a size.
  const charts = await page.$$eval(`[data-testid="view-${view}"] canvas[data-chart]`, (canvases) =>
    canvases.map((canvas) => ({
      id: (canvas as unknown as DomNode).dataset.chart,
      rendered: (canvas as unknown as DomNode).dataset.rendered,
      width: (canvas as unknown as DomNode).width,
    })),
  );
  expect(charts.length).toBe(CHARTS[view]);
  for (const chart of charts) {
    expect(chart.rendered, chart.id).toBe('true');
    expect(chart.width, chart.id).toBeGreaterThan(50);
  }
}

async function figure(testid: string): Promise<{ value: string; text: string }> {
  return page.$eval(`[data-testid="${testid}"]`, (node) => ({
    value: (node as unknown as DomNode).dataset.value ?? '',
    text: node.textContent ?? '',
  }));
}

async function range(): Promise<{ from: string; to: string }> {
  const [from, to] = (await page.$eval('body', (body) => (body as unknown as DomNode).dataset.range ?? '..')).split(
    '..',
  );
  return { from: from!, to: to! };
}

async function setRange(view: string, from: string, to: string): Promise<void> {
  await page.fill('[data-testid="filter-from"]', from);
  await page.fill('[data-testid="filter-to"]', to);
  await page.click('[data-testid="filter-apply"]');
  await page.waitForFunction(
    (expected) => document.body.dataset.ready === 'true' && document.body.dataset.range === expected,
    `${from}..${to}`,
    { timeout: 20_000 },
  );
  await ready(view);
}

async function assertInert(): Promise<void> {
  expect(dialogs).toEqual([]);
  const injected = await page.evaluate(() => ({
    elements: document.querySelectorAll(
      'img, iframe, svg, details, marquee, video, style, b, script:not([src]), a[href^="javascript"]',
    ).length,
    flagged: Object.keys(window).filter((key) => key.startsWith('__xss')).length,
    bodyVisible: getComputedStyle(document.body).display !== 'none',
  }));
  expect(injected).toEqual({ elements: 0, flagged: 0, bodyVisible: true });
}

async function visibleText(): Promise<string> {
  return page.evaluate(() => document.body.innerText);
}

describe.skipIf(!available)('dashboard in Chromium', () => {
  beforeAll(async () => {
    world = await buildWorld({ hostile: true });
    const address = await world.server.listen({ host: '127.0.0.1', port: 0, allowRemote: false });
    base = address.url;
    userData = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
    mkdirSync(screenshots, { recursive: true });
    // A new, empty profile for every run.
    browser = await chromium.launchPersistentContext(userData, {
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
      viewport: { width: 1440, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    // Nothing may be loaded from anywhere but this server.
    await page.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
  });

  afterAll(async () => {
    await browser?.close();
    await world?.close();
    if (userData) rmSync(userData, { recursive: true, force: true });
  });

  it('shows the historical view with the API figures, and refetches when the dates change', async () => {
    await open('historical');
    const first = await range();
    const kpis = await api<{ kpis: { revenueUsd: number; orders: number; customers: number } }>(
      `/api/kpis?view=historical&from=${first.from}&to=${first.to}`,
    );
    expect(await figure('kpi-total-revenue')).toEqual({
      value: String(kpis.kpis.revenueUsd),
      text: usd.format(kpis.kpis.revenueUsd),
    });
    expect(await figure('kpi-orders')).toEqual({
      value: String(kpis.kpis.orders),
      text: count.format(kpis.kpis.orders),
    });
    expect((await figure('kpi-customers')).value).toBe(String(kpis.kpis.customers));
    const top = await api<{ customers: { customerId: string }[] }>(
      `/api/historical/top-customers?from=${first.from}&to=${first.to}&limit=10`,
    );
    const firstRow = await page.$eval('[data-testid="table-top-customers"] tbody tr td', (cell) => cell.textContent);
    expect(firstRow).toBe(top.customers[0]!.customerId);
    await page.screenshot({ path: join(screenshots, 'historical.png'), fullPage: true });

    await setRange('historical', '2026-06-01', '2026-06-15');
    const narrowed = await api<{ kpis: { revenueUsd: number; orders: number } }>(
      '/api/kpis?view=historical&from=2026-06-01&to=2026-06-15',
    );
    const after = await figure('kpi-total-revenue');
    expect(after.value).toBe(String(narrowed.kpis.revenueUsd));
    expect(after.value).not.toBe(String(kpis.kpis.revenueUsd));
    expect((await figure('kpi-orders')).value).toBe(String(narrowed.kpis.orders));
    expect(page.url()).toContain('from=2026-06-01');
    await assertInert();
  });

  it('shows the predictive view with the API figures, following the date filter to a snapshot', async () => {
    await open('predictive');
    const kpis = await api<{
      snapshotDate: string;
      kpis: { highRiskCustomers: number; revenueAtRiskUsd: number; championRocAuc: number; customersScored: number };
    }>('/api/kpis?view=predictive');
    expect(await figure('kpi-customers-at-risk')).toEqual({
      value: String(kpis.kpis.highRiskCustomers),
      text: count.format(kpis.kpis.highRiskCustomers),
    });
    expect(await figure('kpi-revenue-at-risk')).toEqual({
      value: String(kpis.kpis.revenueAtRiskUsd),
      text: usd.format(kpis.kpis.revenueAtRiskUsd),
    });
    expect(await figure('kpi-champion-auc')).toEqual({
      value: String(kpis.kpis.championRocAuc),
      text: kpis.kpis.championRocAuc.toFixed(3),
    });
    expect(await page.$eval('[data-testid="snapshot-select"]', (select) => (select as unknown as DomNode).value)).toBe(
      kpis.snapshotDate,
    );
    await page.screenshot({ path: join(screenshots, 'predictive.png'), fullPage: true });

    // A range ending in May shows the latest snapshot of that range instead.
    await setRange('predictive', '2026-05-01', '2026-05-20');
    const snapshot = await page.$eval(
      '[data-testid="snapshot-select"]',
      (select) => (select as unknown as DomNode).value,
    );
    expect(snapshot <= '2026-05-20' && snapshot >= '2026-05-01').toBe(true);
    const then = await api<{ kpis: { highRiskCustomers: number; customersScored: number } }>(
      `/api/kpis?view=predictive&snapshot=${snapshot}`,
    );
    expect((await figure('kpi-customers-scored')).value).toBe(String(then.kpis.customersScored));
    expect((await figure('kpi-customers-at-risk')).value).toBe(String(then.kpis.highRiskCustomers));
    expect(then.kpis.customersScored).not.toBe(kpis.kpis.customersScored);

    // Choosing another snapshot in the list refetches too.
    const options = await page.$$eval('[data-testid="snapshot-select"] option', (items) =>
      items.map((item) => (item as unknown as DomNode).value),
    );
    const other = options.find((value) => value !== snapshot)!;
    await page.selectOption('[data-testid="snapshot-select"]', other);
    await page.waitForFunction(
      (value) =>
        document.body.dataset.ready === 'true' &&
        document.querySelector('[data-testid="snapshot-select"]')?.value === value,
      other,
      { timeout: 20_000 },
    );
    const chosen = await api<{ kpis: { customersScored: number } }>(`/api/kpis?view=predictive&snapshot=${other}`);
    expect((await figure('kpi-customers-scored')).value).toBe(String(chosen.kpis.customersScored));
    await assertInert();
  });

  it('shows the operations view with the API figures, and filters runs by date', async () => {
    await open('operations');
    const { from, to } = await range();
    const kpis = await api<{ kpis: { runs: number; failedRuns: number; deadLetters: number } }>(
      `/api/kpis?view=operations&from=${from}&to=${to}`,
    );
    expect((await figure('kpi-runs')).value).toBe(String(kpis.kpis.runs));
    expect((await figure('kpi-failed-runs')).value).toBe(String(kpis.kpis.failedRuns));
    expect(await figure('kpi-dead-letters')).toEqual({ value: '2', text: '2' });
    expect(await page.$$eval('[data-testid="table-runs"] tbody tr', (rows) => rows.length)).toBe(20);
    await page.screenshot({ path: join(screenshots, 'operations.png'), fullPage: true });

    await setRange('operations', '2026-06-21', '2026-06-30');
    expect((await figure('kpi-runs')).value).toBe('10');
    expect(await page.$$eval('[data-testid="table-runs"] tbody tr', (rows) => rows.length)).toBe(10);
    await assertInert();
  });

  it('shows every hostile string as text and runs none of them', async () => {
    const shown: Record<string, string[]> = {
      historical: [
        HOSTILE.startupName,
        HOSTILE.productName,
        HOSTILE.category,
        HOSTILE.sector,
        HOSTILE.city,
        HOSTILE.country,
        HOSTILE.region,
        HOSTILE.segment,
      ],
      predictive: [HOSTILE.region, HOSTILE.segment],
      operations: [HOSTILE.deadLetterReason, HOSTILE.stageReason, HOSTILE.eventSubject, HOSTILE.promotionReason],
    };
    for (const [view, values] of Object.entries(shown)) {
      await open(view, view === 'historical' ? '?from=2026-03-03&to=2026-06-30' : '');
      const text = await visibleText();
      for (const value of values) expect(text, `${view} shows ${value}`).toContain(value);
      await assertInert();
    }
    // Canvas-only fields (feature names, chart labels) are drawn as pixels: the charts rendered, nothing ran.
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
