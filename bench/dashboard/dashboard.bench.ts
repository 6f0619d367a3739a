import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openDuckDbWarehouse, releaseDuckDbFile } from '@mlops/adapters-local';
import { buildGoldWarehouse, buildOperations } from '@mlops/testing/fixtures';

/**
 * Dashboard API latency with a year of data at scale 10 (~3.6M orders, ~730k sessions, weekly
 * churn snapshots of ~60k customers, 365 pipeline runs in the ledger), under 20 concurrent
 * clients on loopback. Target: p99 < 50 ms per endpoint.
 *
 * Per endpoint, each phase bounded by a request count and a time budget:
 * The server warms up first, as `mlops dashboard` does at start (the page's default requests, which
 * build the cubes, the in-memory sales index and the per-snapshot figures); its time and the RSS
 * after it are printed. Then per endpoint:
 * - `first`: one request, nothing else running;
 * - `warm`: the page's own requests repeated (the answer cache holds them after the first);
 * - `ranges`: every request a different date range or snapshot, so the answer cache mostly misses
 *   and each answer is computed from the cubes and indexes (no request scans `fct_sales`).
 * The target is met when every endpoint's p99 is under 50 ms in both `warm` and `ranges`.
 * The gold tables are synthesised with DuckDB SQL in the shapes `dataform/README.md` defines (the
 * real generators and transformer had not landed when this was written); built once and reused.
 */
export interface DashboardBenchOptions {
  /** Volume multiplier (1 is ~1,000 orders a day). */
  scale?: number;
  days?: number;
  concurrency?: number;
  /** Requests per endpoint and phase (at most). */
  requests?: number;
  /** Time budget per endpoint and phase, ms. */
  budgetMs?: number;
  /** Where the warehouse is built and kept. */
  workDir?: string;
  log?: (line: string) => void;
}

/** Latencies of one endpoint in one phase. */
export interface PhaseResult {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  perSecond: number;
  errors: number;
}

/** One endpoint's results. */
export interface EndpointResult {
  endpoint: string;
  firstMs: number;
  warm: PhaseResult;
  ranges: PhaseResult | null;
}

export interface DashboardBenchResult {
  scale: number;
  days: number;
  concurrency: number;
  rows: Record<string, number>;
  buildSeconds: number | null;
  endpoints: EndpointResult[];
  targetP99Ms: number;
  /** Every endpoint's p99 under the target, warm and with other ranges, without errors. */
  meetsTarget: boolean;
}

export const TARGET_P99_MS = 50;

const END_DATE = '2026-06-30';
const FIXTURE_FILES = ['gold-warehouse.fixture.ts', 'operations.fixture.ts'].map(
  (name) => new URL(`../../shared/testing/src/dashboard/${name}`, import.meta.url),
);

function addDays(date: string, days: number): string {
  const parsed = new Date(`${date}T00:00:00Z`);
  parsed.setUTCDate(parsed.getUTCDate() + days);
  return parsed.toISOString().slice(0, 10);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The world the bench reads: built once per (scale, days, fixture code) and kept in `workDir`. */
async function prepare(
  workDir: string,
  scale: number,
  days: number,
  log: (line: string) => void,
): Promise<{ buildSeconds: number | null }> {
  const stamp = createHash('sha256')
    .update(JSON.stringify({ scale, days, END_DATE }))
    .update(FIXTURE_FILES.map((file) => readFileSync(file)).join('\n'))
    .digest('hex');
  const stampFile = join(workDir, 'stamp.txt');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return { buildSeconds: null };
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  log(`building ${days} days at scale ${scale} in ${workDir} (once) ...`);
  const started = performance.now();
  const runDates = Array.from({ length: days }, (_, index) => addDays(END_DATE, index - days + 1));
  const ops = await buildOperations(workDir, { runDates, failedRunDates: [runDates[days - 10]!], trainEveryRuns: 7 });
  const path = join(workDir, 'warehouse.duckdb');
  const writer = await openDuckDbWarehouse({ path });
  await buildGoldWarehouse(writer, {
    endDate: END_DATE,
    days,
    scale,
    modelVersion: ops.championVersion,
    snapshotEveryDays: 7,
  });
  await writer.close();
  releaseDuckDbFile(path);
  await ops.close();
  writeFileSync(stampFile, stamp);
  const buildSeconds = (performance.now() - started) / 1000;
  log(`built in ${buildSeconds.toFixed(1)} s`);
  return { buildSeconds };
}

/** GET over a keep-alive agent; resolves to the latency in ms (rejects on a non-200). */
function timedGet(agent: Agent, base: URL, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(new URL(path, base), { agent, method: 'GET' }, (response) => {
      response.resume();
      response.on('end', () =>
        response.statusCode === 200
          ? resolve(performance.now() - started)
          : reject(new Error(`${path}: HTTP ${response.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** `concurrency` clients issue `paths()` until `requests` are done or `budgetMs` has passed. */
async function load(
  agent: Agent,
  base: URL,
  paths: (index: number) => string,
  options: { concurrency: number; requests: number; budgetMs: number },
): Promise<PhaseResult> {
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.budgetMs;
  const client = async () => {
    while (issued < options.requests && performance.now() < deadline) {
      const index = issued++;
      try {
        latencies.push(await timedGet(agent, base, paths(index)));
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? Number.NaN,
    perSecond: latencies.length / elapsed,
    errors,
  };
}

interface Endpoint {
  name: string;
  /** The page's request for the default range (the last 90 days). */
  path: string;
  /** A request for another range (index picks it), or null when the endpoint takes no range. */
  ranged: ((index: number) => string) | null;
}

function endpoints(days: number): Endpoint[] {
  const to = END_DATE;
  const from = addDays(END_DATE, -89);
  const range = `from=${from}&to=${to}`;
  // Deterministic, mostly distinct ranges across the year.
  const other = (index: number) => {
    const length = 7 + ((index * 37) % 180);
    const end = addDays(END_DATE, -((index * 13) % Math.max(1, days - length)));
    return `from=${addDays(end, -length + 1)}&to=${end}`;
  };
  const snapshot = (index: number) => addDays(END_DATE, -7 * (index % 50));
  const list: [string, string, ((index: number) => string) | null][] = [
    ['meta', '/api/meta', null],
    ['kpis historical', `/api/kpis?view=historical&${range}`, (i) => `/api/kpis?view=historical&${other(i)}`],
    [
      'revenue by day',
      `/api/historical/revenue?${range}&groupBy=day`,
      (i) => `/api/historical/revenue?${other(i)}&groupBy=day`,
    ],
    [
      'revenue by region',
      `/api/historical/revenue?${range}&groupBy=region`,
      (i) => `/api/historical/revenue?${other(i)}&groupBy=region`,
    ],
    [
      'revenue by category',
      `/api/historical/revenue?${range}&groupBy=category`,
      (i) => `/api/historical/revenue?${other(i)}&groupBy=category`,
    ],
    [
      'top customers',
      `/api/historical/top-customers?${range}&limit=10`,
      (i) => `/api/historical/top-customers?${other(i)}&limit=10`,
    ],
    [
      'top products',
      `/api/historical/top-products?${range}&limit=10`,
      (i) => `/api/historical/top-products?${other(i)}&limit=10`,
    ],
    ['funnel', `/api/historical/funnel?${range}`, (i) => `/api/historical/funnel?${other(i)}`],
    ['traffic', `/api/historical/traffic?${range}`, (i) => `/api/historical/traffic?${other(i)}`],
    ['startups', '/api/historical/startups?limit=12', null],
    ['snapshots', '/api/predictive/snapshots?limit=1000', null],
    ['kpis predictive', '/api/kpis?view=predictive', (i) => `/api/kpis?view=predictive&snapshot=${snapshot(i)}`],
    ['risk distribution', '/api/predictive/risk', (i) => `/api/predictive/risk?snapshot=${snapshot(i)}`],
    [
      'customers at risk',
      '/api/predictive/at-risk?limit=15',
      (i) => `/api/predictive/at-risk?snapshot=${snapshot(i)}&limit=15`,
    ],
    ['models', '/api/predictive/models', null],
    ['feature importance', '/api/predictive/feature-importance?limit=15', null],
    [
      'predicted vs actual',
      `/api/predictive/predicted-vs-actual?${range}&limit=12`,
      (i) => `/api/predictive/predicted-vs-actual?${other(i)}&limit=12`,
    ],
    ['kpis operations', `/api/kpis?view=operations&${range}`, (i) => `/api/kpis?view=operations&${other(i)}`],
    ['runs', `/api/operations/runs?${range}&limit=20`, (i) => `/api/operations/runs?${other(i)}&limit=20`],
    ['quality', `/api/operations/quality?${range}&limit=20`, (i) => `/api/operations/quality?${other(i)}&limit=20`],
    ['events', '/api/operations/events?limit=60', null],
    ['dead letters', '/api/operations/dead-letters?limit=50', null],
    ['promotions', '/api/operations/promotions?limit=20', null],
    ['subscriptions', '/api/operations/subscriptions', null],
  ];
  return list.map(([name, path, ranged]) => ({ name, path, ranged }));
}

/** Start the server in a child process; resolves once it listens. */
async function serve(
  workDir: string,
  cacheEntries: number,
): Promise<{ base: URL; rows: Record<string, number>; warmUpMs: number; rssMb: number; close(): Promise<void> }> {
  const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
  const child = spawn(
    tsx,
    [
      '--conditions=@mlops/source',
      fileURLToPath(new URL('./server.child.ts', import.meta.url)),
      workDir,
      String(cacheEntries),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf('\n');
      if (newline >= 0) resolve(buffer.slice(0, newline));
    });
    child.once('exit', (code) => reject(new Error(`the bench server exited with ${code} before listening`)));
  });
  const { url, rows, warmUpMs, rssMb } = JSON.parse(first) as {
    url: string;
    rows: Record<string, number>;
    warmUpMs: number;
    rssMb: number;
  };
  return {
    base: new URL(url),
    rows,
    warmUpMs,
    rssMb,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function runDashboardBench(options: DashboardBenchOptions = {}): Promise<DashboardBenchResult> {
  const scale = options.scale ?? 10;
  const days = options.days ?? 365;
  const concurrency = options.concurrency ?? 20;
  const requests = options.requests ?? 400;
  const budgetMs = options.budgetMs ?? 5_000;
  const log = options.log ?? ((line: string) => console.log(line));
  const workDir = options.workDir ?? join(tmpdir(), 'mlops-bench-dashboard', `scale${scale}-days${days}`);
  const { buildSeconds } = await prepare(workDir, scale, days, log);
  const list = endpoints(days);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const results: EndpointResult[] = [];

  const cached = await serve(workDir, 500);
  const rows = cached.rows;
  log(`server warm-up (as at start): ${(cached.warmUpMs / 1000).toFixed(1)} s; RSS after it ${cached.rssMb} MB`);
  log(
    `warehouse: ${Object.entries(rows)
      .map(([table, n]) => `${table} ${n.toLocaleString('en-US')}`)
      .join(', ')}`,
  );
  log(
    `${list.length} endpoints, ${concurrency} concurrent clients, up to ${requests} requests or ${budgetMs / 1000} s per endpoint and phase`,
  );
  try {
    for (const endpoint of list) {
      const firstMs = await timedGet(agent, cached.base, endpoint.path);
      const warm = await load(agent, cached.base, () => endpoint.path, { concurrency, requests, budgetMs });
      const ranges = endpoint.ranged
        ? await load(agent, cached.base, endpoint.ranged, { concurrency, requests: Math.min(requests, 200), budgetMs })
        : null;
      results.push({ endpoint: endpoint.name, firstMs, warm, ranges });
    }
  } finally {
    await cached.close();
  }

  agent.destroy();

  const result: DashboardBenchResult = {
    scale,
    days,
    concurrency,
    rows,
    buildSeconds,
    endpoints: results,
    targetP99Ms: TARGET_P99_MS,
    meetsTarget: results.every((item) => passes(item, TARGET_P99_MS)),
  };
  printTable(result, log);
  return result;
}

function passes(item: EndpointResult, targetMs: number): boolean {
  const ok = (phase: PhaseResult | null) => phase === null || (phase.errors === 0 && phase.p99Ms < targetMs);
  return ok(item.warm) && ok(item.ranges);
}

function printTable(result: DashboardBenchResult, log: (line: string) => void): void {
  const ms = (value: number | undefined) =>
    value === undefined || Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(0);
  const header = [
    'endpoint',
    'first',
    'warm p50',
    'warm p99',
    'warm req/s',
    'ranges p50',
    'ranges p99',
    `p99<${TARGET_P99_MS}`,
  ];
  const lines = result.endpoints.map((item) => [
    item.endpoint,
    ms(item.firstMs),
    ms(item.warm.p50Ms),
    ms(item.warm.p99Ms),
    item.warm.perSecond.toFixed(0),
    ms(item.ranges?.p50Ms),
    ms(item.ranges?.p99Ms),
    passes(item, result.targetP99Ms) ? 'yes' : 'NO',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ');
  log('');
  log(
    `dashboard API latency (ms), ${result.days} days at scale ${result.scale}, ${result.concurrency} concurrent clients on loopback`,
  );
  log(format(header));
  log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of lines) log(format(line));
  const errors = result.endpoints.reduce((sum, item) => sum + item.warm.errors + (item.ranges?.errors ?? 0), 0);
  log('');
  log(
    "first: one request after the warm-up; warm: the page's request repeated; ranges: a different date range or snapshot per request.",
  );
  log(
    `target p99 < ${result.targetP99Ms} ms (warm and ranges): ${result.meetsTarget ? 'met' : 'NOT met'}; errors: ${errors}`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => {
    const index = process.argv.indexOf(`--${name}`);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  runDashboardBench({
    ...(arg('scale') ? { scale: Number(arg('scale')) } : {}),
    ...(arg('days') ? { days: Number(arg('days')) } : {}),
    ...(arg('requests') ? { requests: Number(arg('requests')) } : {}),
    ...(arg('budget-ms') ? { budgetMs: Number(arg('budget-ms')) } : {}),
  })
    .then((result) => process.exit(result.meetsTarget ? 0 : 1))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(2);
    });
}
