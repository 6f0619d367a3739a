/**
 * `npm run test:kill [-- --from 2026-09-01 --to 2026-10-10] [--horizon 7] [--emulators] [--keep]`: the
 * acceptance runs of the multi-process stack, as a user would type them.
 *
 * 1. `mlops stack up`, then `mlops backfill --from --to --attach` in another process: the exit
 *    code, `mlops status --json` (runs still `running`) and `mlops dlq list`.
 * 2. The same on a fresh state folder with the lander, the transformer and the trainer each
 *    SIGKILLed once in the middle of their work (see KILL_PLAN): the stack must restart them.
 * 3. Per gold table, the checksums (rows, folds of the row hashes) of both runs: they must be equal.
 *
 * Prints one line per check and exits 0 only when every check passed.
 */
import { performance } from 'node:perf_hooks';
import { tempDir } from '@mlops/testing';
import {
  goldChecksums,
  KILL_PLAN,
  killDuring,
  mlops,
  parseExportLine,
  SERVICES,
  startStack,
  type RunningStack,
} from '../cli/test/fixtures/stack.harness.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const index = argv.indexOf(name);
  return index >= 0 && argv[index + 1] ? argv[index + 1]! : fallback;
};
const from = option('--from', '2026-09-01');
const to = option('--to', '2026-10-10');
const emulators = argv.includes('--emulators');
const keep = argv.includes('--keep');
// The churn horizon: with the default 30 days, a 40-day window leaves the trainer no labelled
// history (horizon + embargo + warm-up), so it would never train and never be killed.
const horizon = option('--horizon', process.env.MLOPS_CHURN_HORIZON_DAYS ?? '7');

/** Latencies of one dashboard request, polled while the backfill runs, split by whether a build was running. */
interface DashboardProbe {
  duringBuild: number[];
  otherwise: number[];
  statuses: Record<string, number>;
}

/** Poll the dashboard every 200 ms until `done`; a build runs between `building` and its event. */
async function probeDashboard(stack: RunningStack, done: Promise<unknown>): Promise<DashboardProbe> {
  const probe: DashboardProbe = { duringBuild: [], otherwise: [], statuses: {} };
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    const url = /dashboard at (http:\/\/[\d.:]+\/)/.exec(stack.output())?.[1];
    if (url) {
      const transformer = stack.lines('transformer').map((line) => line.message ?? '');
      const building =
        transformer.filter((message) => /^building \d+ run date/.test(message)).length >
        transformer.filter((message) => /^emitted mlops\.(warehouse\.ready|stage\.failed)/.test(message)).length;
      const started = performance.now();
      try {
        const response = await fetch(`${url}api/kpis?view=historical`);
        await response.arrayBuffer();
        const key = `${response.status} ${response.headers.get('x-mlops-data') ?? ''}`.trim();
        probe.statuses[key] = (probe.statuses[key] ?? 0) + 1;
        (building ? probe.duringBuild : probe.otherwise).push(performance.now() - started);
      } catch {
        probe.statuses.unreachable = (probe.statuses.unreachable ?? 0) + 1;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return probe;
}

/** Per service: how often a warehouse session had to wait, and how long. */
function warehouseWaits(stack: RunningStack): string[] {
  return SERVICES.flatMap((service) => {
    const waits = stack
      .lines(service)
      .filter((line) => /^warehouse (read|write) session started after waiting/.test(line.message ?? ''))
      .map((line) => Number(line.waitedMs));
    if (waits.length === 0) return [`${service}: no session waited more than 1 s`];
    const total = waits.reduce((sum, ms) => sum + ms, 0);
    return [
      `${service}: ${waits.length} session(s) waited over 1 s: total ${(total / 1000).toFixed(1)} s, longest ${(Math.max(...waits) / 1000).toFixed(1)} s`,
    ];
  });
}

function percentile(values: readonly number[], p: number): string {
  if (values.length === 0) return '-';
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(0);
}

interface RunOutcome {
  home: string;
  backfillCode: number;
  seconds: number;
  running: number;
  deadLetters: boolean;
  checksums: Record<string, string>;
  killed: { service: string; pid: number; atMs: number; restartedAs?: number }[];
}

const checks: { ok: boolean; line: string }[] = [];
const check = (ok: boolean, line: string) => {
  checks.push({ ok, line });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
};

async function run(label: string, withKills: boolean): Promise<RunOutcome> {
  const home = tempDir(`mlops-${label}-`);
  console.log(`\n== ${label}: state in ${home.path}`);
  const stack = await startStack({
    env: { MLOPS_HOME: home.path, MLOPS_DASHBOARD_PORT: '0', MLOPS_CHURN_HORIZON_DAYS: horizon },
    emulators,
  });
  // What the stack printed is all the other commands get, as a user would paste it.
  const env = parseExportLine(stack.exportLine);
  try {
    const started = performance.now();
    const backfill = mlops(['backfill', '--from', from, '--to', to, '--attach', '--timeout', '7200'], env);
    const probing = probeDashboard(stack, backfill);
    const killed = withKills ? await killDuring(stack, KILL_PLAN, backfill) : [];
    const result = await backfill;
    const probe = await probing;
    console.log(
      `dashboard /api/kpis while a build ran: ${probe.duringBuild.length} requests, p50 ${percentile(probe.duringBuild, 50)} ms, p99 ${percentile(probe.duringBuild, 99)} ms; otherwise: ${probe.otherwise.length} requests, p50 ${percentile(probe.otherwise, 50)} ms, p99 ${percentile(probe.otherwise, 99)} ms; answers ${JSON.stringify(probe.statuses)}`,
    );
    for (const line of warehouseWaits(stack)) console.log(`waits: ${line}`);
    const seconds = (performance.now() - started) / 1000;
    if (result.code !== 0) console.log(result.stdout.slice(-3000), result.stderr.slice(-3000));
    const status = await mlops(['status', '--json'], env);
    const runs = (JSON.parse(status.stdout || '{"runs":[]}') as { runs: { status: string }[] }).runs;
    const dlq = await mlops(['dlq', 'list'], env);
    const outcome: RunOutcome = {
      home: home.path,
      backfillCode: result.code,
      seconds,
      running: runs.filter((entry) => entry.status === 'running').length,
      deadLetters: !dlq.stdout.includes('no dead letters'),
      checksums: await goldChecksums(home.path),
      killed: killed.map((entry) => ({ ...entry, restartedAs: stack.pids().get(entry.service) })),
    };
    console.log(`backfill exited ${result.code} after ${seconds.toFixed(0)} s; ${runs.length} runs in the ledger`);
    for (const entry of outcome.killed)
      console.log(
        `killed ${entry.service} (pid ${entry.pid}) at ${(entry.atMs / 1000).toFixed(1)} s; now pid ${entry.restartedAs}`,
      );
    return outcome;
  } finally {
    console.log(`stack stopped with exit code ${await stack.stop()}`);
    if (!keep) home.remove();
  }
}

const clean = await run('uninterrupted', false);
const killed = await run('killed', true);
console.log('');
for (const [label, outcome] of [
  ['uninterrupted', clean],
  ['killed', killed],
] as const) {
  check(
    outcome.backfillCode === 0,
    `${label}: backfill --attach exited ${outcome.backfillCode} (${outcome.seconds.toFixed(0)} s)`,
  );
  check(outcome.running === 0, `${label}: mlops status --json shows ${outcome.running} run(s) running`);
  check(!outcome.deadLetters, `${label}: mlops dlq list: ${outcome.deadLetters ? 'dead letters' : 'no dead letters'}`);
}
for (const service of KILL_PLAN.map((step) => step.service)) {
  const entry = killed.killed.find((candidate) => candidate.service === service);
  check(
    entry !== undefined && entry.restartedAs !== undefined && entry.restartedAs !== entry.pid,
    `${service}: SIGKILLed ${entry ? `at ${(entry.atMs / 1000).toFixed(1)} s` : 'never'} and restarted by the stack`,
  );
}
const tables = [...new Set([...Object.keys(clean.checksums), ...Object.keys(killed.checksums)])].sort();
for (const table of tables)
  check(
    clean.checksums[table] === killed.checksums[table],
    `${table}: ${clean.checksums[table]?.split(':')[0] ?? '-'} rows; checksums ${clean.checksums[table] === killed.checksums[table] ? 'equal' : `differ (${clean.checksums[table]} vs ${killed.checksums[table]})`}`,
  );
const failed = checks.filter((entry) => !entry.ok).length;
console.log(`\n${failed === 0 ? 'every check passed' : `${failed} check(s) failed`}`);
process.exit(failed === 0 ? 0 : 1);
