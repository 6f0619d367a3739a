/**
 * Warm-up: ask the server, in-process, what the page asks first (the last 90 days of every
 * view), so the daily cubes and the latest snapshot's figures are computed before a person opens
 * the page. Answers are cached per warehouse version, so this runs again when the version changes.
 * Before those, each ranged endpoint answers a few other ranges, so the code that computes a
 * range has been run often enough to be compiled (cold, the first answers cost two to three
 * times the CPU, and twenty people moving the date filter at once wait for all of them).
 */
import type { FastifyInstance } from 'fastify';
import { addDays } from './params.js';

/**
 * The requests the page makes when it opens each view on its default range; resolves to how many,
 * and whether each was answered from the current warehouse (not while a writer held it).
 */
/** Ranges answered per ranged endpoint to run its code before anyone connects. */
export const EXERCISE_RANGES = 48;

/** The ranged endpoints the page asks, with a range's query string. */
const RANGED = [
  (range: string) => `/api/kpis?view=historical&${range}`,
  (range: string) => `/api/historical/revenue?${range}&groupBy=day`,
  (range: string) => `/api/historical/revenue?${range}&groupBy=region`,
  (range: string) => `/api/historical/revenue?${range}&groupBy=category`,
  (range: string) => `/api/historical/top-customers?${range}&limit=10`,
  (range: string) => `/api/historical/top-products?${range}&limit=10`,
  (range: string) => `/api/historical/funnel?${range}`,
  (range: string) => `/api/historical/traffic?${range}`,
  (range: string) => `/api/predictive/predicted-vs-actual?${range}&limit=12`,
  (range: string) => `/api/kpis?view=operations&${range}`,
  (range: string) => `/api/operations/runs?${range}&limit=20`,
  (range: string) => `/api/operations/quality?${range}&limit=20`,
];

/**
 * `count` ranges of 7 to 186 days that reach past the days with data (`from` to `to`): half end
 * after the last day, half start before the first. Answered like any range (short and long ones
 * take different paths), and none of them one the page asks for.
 */
export function exerciseRanges(from: string, to: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const days = 6 + ((index * 37) % 180);
    const past = 1 + ((index * 7) % 5);
    if (index % 2 === 0) {
      const end = addDays(to, past);
      return `from=${addDays(end, -days)}&to=${end}`;
    }
    const start = addDays(from, -past);
    return `from=${start}&to=${addDays(start, days)}`;
  });
}

export async function warmUp(
  app: FastifyInstance,
  exerciseCount = EXERCISE_RANGES,
): Promise<{ requests: number; complete: boolean }> {
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
  const exercise = exerciseRanges(meta.sales!.from ?? to, to, exerciseCount).flatMap((other) =>
    RANGED.map((url) => url(other)),
  );
  for (const url of exercise) await get(url);
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
  return { requests: exercise.length + urls.length + 2, complete };
}
