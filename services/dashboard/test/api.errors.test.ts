import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../src/index.js';
import { get } from './fixtures/http.js';
import { buildWorld, type World } from './fixtures/world.fixture.js';

let world: World;

beforeAll(async () => {
  world = await buildWorld({ days: 40, scale: 0.05 });
});
afterAll(async () => {
  await world?.close();
});

describe('bad requests', () => {
  it.each([
    [
      'a backwards date range',
      '/api/historical/revenue?from=2026-06-10&to=2026-06-01',
      'DASHBOARD.RANGE_BACKWARDS',
      /from \(2026-06-10\) is after to \(2026-06-01\)/,
    ],
    [
      'an unknown view',
      '/api/kpis?view=finance',
      'DASHBOARD.UNKNOWN_VIEW',
      /unknown view "finance"; the views are historical, predictive, operations/,
    ],
    ['a missing view', '/api/kpis', 'DASHBOARD.MISSING_PARAMETER', /"view" is required/],
    [
      'a huge limit',
      '/api/historical/top-customers?limit=1000000',
      'DASHBOARD.LIMIT_TOO_LARGE',
      /is 1000000; the maximum is 100/,
    ],
    ['a limit of zero', '/api/operations/runs?limit=0', 'DASHBOARD.BAD_PARAMETER', /at least 1/],
    [
      'a malformed date',
      '/api/historical/funnel?from=yesterday',
      'DASHBOARD.BAD_DATE',
      /YYYY-MM-DD \(got "yesterday"\)/,
    ],
    ['an impossible date', '/api/predictive/risk?snapshot=2026-02-30', 'DASHBOARD.BAD_DATE', /snapshot/],
    [
      'an unknown parameter',
      '/api/historical/traffic?form=2026-06-01',
      'DASHBOARD.UNKNOWN_PARAMETER',
      /unknown query parameter "form"; this endpoint accepts from, to/,
    ],
    [
      'a repeated parameter',
      '/api/historical/traffic?from=2026-06-01&from=2026-06-02',
      'DASHBOARD.BAD_PARAMETER',
      /more than once/,
    ],
    [
      'an unknown grouping',
      '/api/historical/revenue?groupBy=city',
      'DASHBOARD.BAD_PARAMETER',
      /one of day, region, category/,
    ],
    [
      'an unknown risk band',
      '/api/predictive/at-risk?band=extreme',
      'DASHBOARD.BAD_PARAMETER',
      /one of low, medium, high/,
    ],
    ['an injected run id', "/api/operations/events?runId=x'%20or%20'1'='1", 'DASHBOARD.BAD_PARAMETER', /runId/],
  ])('answers 400 with a message for %s', async (_name, url, code, message) => {
    const response = await get<{ error: { code: string; message: string } }>(world, url);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toMatch(message);
  });

  it.each(['/api/nope', '/api/historical', '/admin', '/js/../../package.json', '/vendor/chart.js'])(
    'answers 404 JSON for the unknown route %s',
    async (url) => {
      const response = await get<{ error: { code: string } }>(world, url);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('DASHBOARD.NOT_FOUND');
    },
  );

  it('answers 404 for other methods', async () => {
    const response = await world.server.app.inject({ method: 'POST', url: '/api/kpis?view=historical', payload: {} });
    expect(response.statusCode).toBe(404);
  });
});

describe('the page', () => {
  it('is served with a strict content security policy and no inline script', async () => {
    const response = await world.server.app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
    // Every <script> has a src on this server; no inline handlers or styles.
    const html = response.body;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/src="\/[^/]/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('serves Chart.js from the installed package, and the API with the same headers', async () => {
    const chart = await world.server.app.inject({ method: 'GET', url: '/vendor/chart.umd.min.js' });
    expect(chart.statusCode).toBe(200);
    expect(chart.headers['content-type']).toMatch(/javascript/);
    expect(chart.body).toContain('window.Chart');
    const api = await world.server.app.inject({ method: 'GET', url: '/api/health' });
    expect(api.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    const again = await world.server.app.inject({
      method: 'GET',
      url: '/js/main.js',
      headers: {
        'if-none-match': String((await world.server.app.inject({ method: 'GET', url: '/js/main.js' })).headers.etag),
      },
    });
    expect(again.statusCode).toBe(304);
  });

  it('inserts data only as text: no HTML sinks in the page scripts', async () => {
    for (const file of [
      '/js/main.js',
      '/js/dom.js',
      '/js/charts.js',
      '/js/views/historical.js',
      '/js/views/predictive.js',
      '/js/views/operations.js',
    ]) {
      const body = (await world.server.app.inject({ method: 'GET', url: file })).body;
      expect(body.length, file).toBeGreaterThan(100);
      expect(body, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    }
  });
});
