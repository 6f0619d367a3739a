/**
 * Warm-up: ask the server, in-process, what the page asks first (the last 90 days of every
 * view), so the daily cubes and the latest snapshot's figures are computed before a person opens
 * the page. Answers are cached per warehouse version, so this runs again when the version changes.
 */
import type { FastifyInstance } from 'fastify';
import { addDays } from './params.js';

/**
 * The requests the page makes when it opens each view on its default range; resolves to how many,
 * and whether each was answered from the current warehouse (not while a writer held it).
 */
export async function warmUp(app: FastifyInstance): Promise<{ requests: number; complete: boolean }> {
  let complete = true;
  const get = async (url: string) => {
    const response = await app.inject({ method: 'GET', url });
    if (response.statusCode === 503 || response.headers['x-mlops-data'] === 'stale') complete = false;
    return response.statusCode === 200 ? (JSON.parse(response.body) as unknown) : undefined;
  };
  const meta = (await get('/api/meta')) as { sales?: { from: string | null; to: string | null } } | undefined;
  const to = meta?.sales?.to;
  if (!to) return { requests: 1, complete };
  const start = addDays(to, -89);
  const from = meta.sales!.from && meta.sales!.from > start ? meta.sales!.from : start;
  const range = `from=${from}&to=${to}`;
  const snapshots =
    ((await get('/api/predictive/snapshots?limit=1000')) as { snapshots?: { snapshotDate: string }[] } | undefined)
      ?.snapshots ?? [];
  const snapshot =
    snapshots.find((item) => item.snapshotDate >= from && item.snapshotDate <= to)?.snapshotDate ??
    snapshots[0]?.snapshotDate;
  const urls = [
    `/api/kpis?view=historical&${range}`,
    `/api/historical/revenue?${range}&groupBy=day`,
    `/api/historical/revenue?${range}&groupBy=region`,
    `/api/historical/revenue?${range}&groupBy=category`,
    `/api/historical/top-customers?${range}&limit=10`,
    `/api/historical/top-products?${range}&limit=10`,
    `/api/historical/funnel?${range}`,
    `/api/historical/traffic?${range}`,
    '/api/historical/startups?limit=12',
    ...(snapshot
      ? [
          `/api/kpis?view=predictive&snapshot=${snapshot}`,
          `/api/predictive/risk?snapshot=${snapshot}`,
          `/api/predictive/at-risk?snapshot=${snapshot}&limit=15`,
        ]
      : []),
    `/api/predictive/predicted-vs-actual?${range}&limit=12`,
  ];
  for (const url of urls) await get(url);
  return { requests: urls.length + 2, complete };
}
