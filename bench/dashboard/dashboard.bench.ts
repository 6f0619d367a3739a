import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openDuckDbWarehouse, releaseDuckDbFile } from '@mlops/adapters-local';
import { buildGoldWarehouse, buildOperations, projectViewQuery } from '@mlops/testing/fixtures';

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
  /** Only the endpoints whose names contain one of these (all by default). */
  only?: string[];
  /** Write V8 CPU profiles of the server process to this folder (`node --cpu-prof`). */
  profileDir?: string;
  /** Measure the warm-up after a new warehouse version at the end (default true). */
  rewarm?: boolean;
  /** Extra Node flags for the server process (e.g. `--max-semi-space-size=32`), to compare. */
  serverFlags?: string[];
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
  /** CPU time of the server process per request (ms; its DuckDB threads included), null where unreadable. */
  serverCpuMs: number | null;
  /** CPU time of the load generator (this process, on the same cores) per request, ms. */
  clientCpuMs: number;
  /** The server's pauses over the phase (garbage collections, event loop delay). */
  pauses?: PhasePauses;
}

/** What stopped the server's event loop during a phase. */
export interface PhasePauses {
  /** Garbage collections: how many, their summed and longest pause (ms), and the longest major one. */
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  majorCount: number;
  majorMaxMs: number;
  /** Event loop delay percentiles (ms; 10 ms timer resolution, so ~10 ms is the floor of the max). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Of the requests at or above the phase's p99, how many overlapped a collection of 5 ms or more. */
  slowDuringGc: number;
  slow: number;
  /** The collections and loop stalls (20 ms or more) themselves, times relative to the phase's start. */
  detail?: {
    gc: ServerStats['gc'];
    stalls: ServerStats['stalls'];
    slowest: [number, number][];
    /** Every request's start and latency, in the order they were issued. */
    requests: [number, number][];
  };
}

/** One `stats` answer of the server child. */
interface ServerStats {
  gc: { at: number; ms: number; kind: string }[];
  stalls: { at: number; ms: number }[];
  loopDelayMs: { p50: number; p99: number; p999: number; max: number };
  heapUsedMb: number;
  rssMb: number;
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
  /** The server's warm-up at start (cubes, indexes, snapshot figures, the page's answers). */
  warmUp: { wallMs: number; cpuMs: number; rssMb: number };
  /** The same after a write session gave the warehouse a new version (as after `warehouse.ready`). */
  rewarm: { wallMs: number; cpuMs: number; rssMb: number } | null;
  /** Load average (1 min) before and after the run: the machine's other work. */
  load: [number, number];
  endpoints: EndpointResult[];
  targetP99Ms: number;
  /** Every endpoint's p99 under the target, warm and with other ranges, without errors. */
  meetsTarget: boolean;
}

export const TARGET_P99_MS = 50;

const END_DATE = '2026-06-30';
const FIXTURE_FILES = [
  'dashboard/gold-warehouse.fixture.ts',
  'dashboard/operations.fixture.ts',
  'lake/project-view.ts',
].map((name) => new URL(`../../shared/testing/src/${name}`, import.meta.url));
/** The Dataform views the fixture puts over its tables (their compiled, translated SQL is part of the fixture's stamp). */
const FIXTURE_VIEWS = ['bi_customer_sales_daily', 'bi_customer_category_sales_daily', 'bi_product_sales_daily'];

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
  // What the fixture depends on: its options, its code, and the project's views as DuckDB runs them
  // (a change under dataform/ that alters a view's SQL rebuilds the fixture).
  const views = await Promise.all(FIXTURE_VIEWS.map((view) => projectViewQuery(view, '"fixture"')));
  const stamp = createHash('sha256')
    .update(JSON.stringify({ scale, days, END_DATE }))
    .update(FIXTURE_FILES.map((file) => readFileSync(file)).join('\n'))
    .update(views.join('\n'))
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

/** CPU time (user + system, ms) a process has used so far, from /proc; null where there is none. */
function processCpuMs(pid: number): number | null {
  try {
    // Fields after the command (which may hold spaces): state is the 3rd, utime the 14th, stime the 15th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** `concurrency` clients issue `paths()` until `requests` are done or `budgetMs` has passed. */
async function load(
  agent: Agent,
  base: URL,
  paths: (index: number) => string,
  options: {
    concurrency: number;
    requests: number;
    budgetMs: number;
    serverCpuMs: () => number | null;
    stats?: () => Promise<ServerStats>;
  },
): Promise<PhaseResult> {
  await options.stats?.();
  const cpuBefore = options.serverCpuMs();
  const clientBefore = process.cpuUsage();
  const latencies: number[] = [];
  // Each request's start (epoch ms) and latency, to line the slow ones up with the server's collections.
  const spans: [number, number][] = [];
  let issued = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.budgetMs;
  const client = async () => {
    while (issued < options.requests && performance.now() < deadline) {
      const index = issued++;
      try {
        const at = performance.timeOrigin + performance.now();
        const latency = await timedGet(agent, base, paths(index));
        latencies.push(latency);
        spans.push([at, latency]);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = options.serverCpuMs();
  const clientCpu = process.cpuUsage(clientBefore);
  const stats = await options.stats?.();
  latencies.sort((a, b) => a - b);
  const p99 = percentile(latencies, 99);
  return {
    clientCpuMs: (clientCpu.user + clientCpu.system) / 1000 / Math.max(1, latencies.length + errors),
    ...(stats ? { pauses: pausesOf(stats, spans, p99, started) } : {}),
    requests: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: p99,
    maxMs: latencies[latencies.length - 1] ?? Number.NaN,
    perSecond: latencies.length / elapsed,
    errors,
    serverCpuMs:
      cpuBefore === null || cpuAfter === null || latencies.length === 0
        ? null
        : (cpuAfter - cpuBefore) / (latencies.length + errors),
  };
}

/** The server's pauses over a phase, and how many of its slowest requests a collection overlapped. */
function pausesOf(stats: ServerStats, spans: readonly [number, number][], p99: number, startedAt: number): PhasePauses {
  const origin = performance.timeOrigin + startedAt;
  const round = (value: number) => Math.round(value * 10) / 10;
  const major = stats.gc.filter((gc) => gc.kind === 'mark-compact');
  const long = stats.gc.filter((gc) => gc.ms >= 5);
  const slow = spans.filter(([, latency]) => latency >= p99);
  return {
    gcCount: stats.gc.length,
    gcTotalMs: stats.gc.reduce((sum, gc) => sum + gc.ms, 0),
    gcMaxMs: Math.max(0, ...stats.gc.map((gc) => gc.ms)),
    majorCount: major.length,
    majorMaxMs: Math.max(0, ...major.map((gc) => gc.ms)),
    loopDelayP99Ms: stats.loopDelayMs.p99,
    loopDelayMaxMs: stats.loopDelayMs.max,
    slowDuringGc: slow.filter(([at, latency]) => long.some((gc) => gc.at < at + latency && gc.at + gc.ms > at)).length,
    slow: slow.length,
    detail: {
      gc: stats.gc.map((gc) => ({ ...gc, at: round(gc.at - origin), ms: round(gc.ms) })),
      stalls: stats.stalls.map((stall) => ({ at: round(stall.at - origin), ms: round(stall.ms) })),
      slowest: slow.map(([at, latency]) => [round(at - origin), round(latency)]),
      requests: spans.map(([at, latency]) => [round(at - origin), round(latency)]),
    },
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
interface Served {
  base: URL;
  pid: number;
  rows: Record<string, number>;
  warmUpMs: number;
  warmUpCpuMs: number;
  rssMb: number;
  /** A write session, then the warm-up again (what follows a transform's `warehouse.ready`). */
  rewarm(): Promise<{ wallMs: number; cpuMs: number; rssMb: number }>;
  /** The server's collections and event loop delay since the previous call. */
  stats(): Promise<ServerStats>;
  close(): Promise<void>;
}

async function serve(
  workDir: string,
  cacheEntries: number,
  profileDir: string | undefined,
  serverFlags: readonly string[],
): Promise<Served> {
  // Node itself (not the tsx wrapper), so that its pid is the server's and --cpu-prof applies to it.
  const child = spawn(
    process.execPath,
    [
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...serverFlags,
      '--conditions=@mlops/source',
      '--import',
      'tsx',
      fileURLToPath(new URL('./server.child.ts', import.meta.url)),
      workDir,
      String(cacheEntries),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The child answers in JSON lines: the first when it listens, then one per `rewarm`.
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      waiting.shift()?.resolve(line);
    }
  });
  child.once('exit', (code) => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`the bench server exited with ${code}`));
  });
  const nextLine = () => new Promise<string>((resolve, reject) => waiting.push({ resolve, reject }));
  const { url, pid, rows, warmUpMs, warmUpCpuMs, rssMb } = JSON.parse(await nextLine()) as {
    url: string;
    pid: number;
    rows: Record<string, number>;
    warmUpMs: number;
    warmUpCpuMs: number;
    rssMb: number;
  };
  return {
    base: new URL(url),
    pid,
    rows,
    warmUpMs,
    warmUpCpuMs,
    rssMb,
    rewarm: async () => {
      const answer = nextLine();
      child.stdin.write('rewarm\n');
      const {
        rewarmMs,
        rewarmCpuMs,
        warmed,
        rssMb: after,
      } = JSON.parse(await answer) as {
        rewarmMs: number;
        rewarmCpuMs: number;
        warmed: boolean;
        rssMb: number;
      };
      if (!warmed) throw new Error('the bench server did not warm up again after a new warehouse version');
      return { wallMs: rewarmMs, cpuMs: rewarmCpuMs, rssMb: after };
    },
    stats: async () => {
      const answer = nextLine();
      child.stdin.write('stats\n');
      return (JSON.parse(await answer) as { stats: ServerStats }).stats;
    },
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
  const loadBefore = loadavg()[0]!;
  const { buildSeconds } = await prepare(workDir, scale, days, log);
  const only = options.only;
  const list = endpoints(days).filter((item) => !only || only.some((part) => item.name.includes(part)));
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const results: EndpointResult[] = [];

  const cached = await serve(workDir, 500, options.profileDir, options.serverFlags ?? []);
  const rows = cached.rows;
  const serverCpuMs = () => processCpuMs(cached.pid);
  const stats = () => cached.stats();
  const warmUp = { wallMs: cached.warmUpMs, cpuMs: cached.warmUpCpuMs, rssMb: cached.rssMb };
  let rewarm: DashboardBenchResult['rewarm'] = null;
  log(
    `server warm-up at start (cubes, sales index, snapshot figures, the page's answers): ${(warmUp.wallMs / 1000).toFixed(1)} s wall, ${(warmUp.cpuMs / 1000).toFixed(1)} s CPU; RSS after it ${warmUp.rssMb} MB (load average ${loadBefore.toFixed(1)})`,
  );
  log(
    `warehouse: ${Object.entries(rows)
      .map(([table, n]) => `${table} ${n.toLocaleString('en-US')}`)
      .join(', ')}`,
  );
  log(
    `${list.length} endpoints, ${concurrency} concurrent clients, up to ${requests} requests or ${budgetMs / 1000} s per endpoint and phase`,
  );
  try {
    // The clients' connections first: each of the 20 opens its keep-alive socket with one request
    // (TCP set-up and the server's first requests on a socket). Timed and printed here, so the first
    // endpoint's phases measure what every other endpoint's do: requests on open connections.
    const connectStarted = performance.now();
    const connectMs = await Promise.all(
      Array.from({ length: concurrency }, () => timedGet(agent, cached.base, '/api/meta')),
    );
    log(
      `${concurrency} keep-alive connections opened, one request each: ${(performance.now() - connectStarted).toFixed(1)} ms in all, slowest request ${Math.max(...connectMs).toFixed(1)} ms`,
    );
    for (const endpoint of list) {
      const firstMs = await timedGet(agent, cached.base, endpoint.path);
      const warm = await load(agent, cached.base, () => endpoint.path, {
        concurrency,
        requests,
        budgetMs,
        serverCpuMs,
        stats,
      });
      const ranges = endpoint.ranged
        ? await load(agent, cached.base, endpoint.ranged, {
            concurrency,
            requests: Math.min(requests, 200),
            budgetMs,
            serverCpuMs,
            stats,
          })
        : null;
      results.push({ endpoint: endpoint.name, firstMs, warm, ranges });
    }
    if (options.rewarm !== false) {
      rewarm = await cached.rewarm();
      log(
        `server warm-up after a write session (a new warehouse version, as after warehouse.ready): ${(rewarm.wallMs / 1000).toFixed(1)} s wall, ${(rewarm.cpuMs / 1000).toFixed(1)} s CPU; RSS after it ${rewarm.rssMb} MB`,
      );
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
    warmUp,
    rewarm,
    load: [loadBefore, loadavg()[0]!],
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
    'warm CPU/req',
    'ranges p50',
    'ranges p99',
    'ranges CPU/req',
    `p99<${TARGET_P99_MS}`,
  ];
  const lines = result.endpoints.map((item) => [
    item.endpoint,
    ms(item.firstMs),
    ms(item.warm.p50Ms),
    ms(item.warm.p99Ms),
    item.warm.perSecond.toFixed(0),
    ms(item.warm.serverCpuMs ?? undefined),
    ms(item.ranges?.p50Ms),
    ms(item.ranges?.p99Ms),
    ms(item.ranges?.serverCpuMs ?? undefined),
    passes(item, result.targetP99Ms) ? 'met' : 'NOT met',
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
    "first: one request after the warm-up; warm: the page's request repeated; ranges: a different date range or snapshot per request;",
  );
  log(
    `CPU/req: the server process's CPU time per request (ms; 10 ms clock ticks over the phase); warm is the anchor (HTTP and a cached answer), ranges adds the answer's computation. Load average ${result.load[0].toFixed(1)} before, ${result.load[1].toFixed(1)} after (2 cores).`,
  );
  printPauses(result, log);
  log(
    `target p99 < ${result.targetP99Ms} ms (warm and ranges): ${result.meetsTarget ? 'met' : 'NOT met'}; errors: ${errors}`,
  );
}

/** The server's pauses per endpoint and phase, and the load generator's own CPU per request. */
function printPauses(result: DashboardBenchResult, log: (line: string) => void): void {
  const ms = (value: number) => (value < 10 ? value.toFixed(1) : value.toFixed(0));
  const cells = (phase: PhaseResult | null) =>
    !phase?.pauses
      ? ['-', '-', '-', '-', '-', '-']
      : [
          `${phase.pauses.gcCount}/${ms(phase.pauses.gcTotalMs)}`,
          ms(phase.pauses.gcMaxMs),
          `${phase.pauses.majorCount}/${ms(phase.pauses.majorMaxMs)}`,
          `${ms(phase.pauses.loopDelayP99Ms)}/${ms(phase.pauses.loopDelayMaxMs)}`,
          `${phase.pauses.slowDuringGc}/${phase.pauses.slow}`,
          ms(phase.clientCpuMs),
        ];
  const header = [
    'endpoint',
    ...['warm', 'ranges'].flatMap((phase) => [
      `${phase} GC n/ms`,
      'GC max',
      'major n/max',
      'loop p99/max',
      'slow in GC',
      'client CPU/req',
    ]),
  ];
  const lines = result.endpoints.map((item) => [item.endpoint, ...cells(item.warm), ...cells(item.ranges)]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (row: string[]) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ');
  log('');
  log("server pauses per phase (ms): garbage collections, event loop delay; the load generator's CPU per request");
  log(format(header));
  log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of lines) log(format(line));
  log(
    'GC n/ms: collections and their summed pause; major: mark-compact; loop: event loop delay (10 ms resolution); slow in GC: requests at or above p99 that overlapped a collection of 5 ms or more.',
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
    ...(arg('only') ? { only: arg('only')!.split(',') } : {}),
    ...(arg('profile') ? { profileDir: arg('profile')! } : {}),
    ...(process.argv.includes('--no-rewarm') ? { rewarm: false } : {}),
    ...(arg('server-flags') ? { serverFlags: arg('server-flags')!.split(' ').filter(Boolean) } : {}),
  })
    .then((result) => {
      if (arg('json')) writeFileSync(arg('json')!, JSON.stringify(result, null, 1));
      return result;
    })
    .then((result) => process.exit(result.meetsTarget ? 0 : 1))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(2);
    });
}
