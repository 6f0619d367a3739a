/**
 * `npm start` from cold: a fresh state folder (no bus, no documents, no lake, no warehouse, no
 * compiled Dataform graph), the whole pipeline, the report, no dashboard. It runs the real command
 * in a child process and reads its wall time, CPU time and peak memory, records the time per phase
 * the command prints, and, from the services' log, what a day costs as history grows.
 *
 * Two sizes, both by default: 120 days at scale 1 (target under 30 s wall on 2 cores, peak RSS
 * under 1 GB) and a year at scale 10 (under 15 min, under 4 GB, cost per day flat).
 * `--size 120x1` runs one; `--days N --scale S` runs another size against the first one's targets.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Options of {@link runStartBench}. */
export interface StartBenchOptions {
  days?: number;
  scale?: number;
  /** Fixed last date, so runs are comparable (default: yesterday, as `npm start`). */
  until?: string;
  /** Stop the run after this many seconds (SIGINT), keeping what it measured so far (default: {@link defaultLimitS}). */
  limitS?: number;
}

/** A phase line of the command's breakdown. */
export interface PhaseLine {
  phase: string;
  busyS: number;
  fromS: number;
  toS: number;
}

/** Handling time per day of the per-day stages, by quarter of the dates (oldest first). */
export interface CostPerDay {
  quarter: string;
  dates: number;
  /** Mean handling time per date of the generators and the lander, ms. */
  msPerDate: number;
}

/** What the start benchmark measured. */
export interface StartBenchResult {
  days: number;
  scale: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  exitCode: number | null;
  /** The run was stopped at the bench's limit. */
  stopped: boolean;
  targetSeconds: number;
  targetRssMb: number;
  phases: PhaseLine[];
  costPerDay: CostPerDay[];
  /** Peak RSS of the command within each top-level phase's window, MB (sampled; windows overlap). */
  rssByPhase: { phase: string; peakMb: number }[];
  /** The transform runs, in the order they finished (the runner's log line per run). */
  transformRuns: TransformRun[];
}

/** One transform run: its dates, the DuckDB threads it took, its wall time. */
export interface TransformRun {
  dates: number;
  threads: number;
  seconds: number;
}

/** The transform runs of a run's JSON log (the local runner logs one line per finished run). */
export function transformRuns(logText: string): TransformRun[] {
  const runs: TransformRun[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes('"transform run of ')) continue;
    try {
      const record = JSON.parse(line) as { dates?: number; threads?: number; durationMs?: number };
      if (typeof record.dates === 'number' && typeof record.durationMs === 'number')
        runs.push({ dates: record.dates, threads: record.threads ?? 0, seconds: record.durationMs / 1000 });
    } catch {
      // not a JSON line (a partial last line of a stopped run): skipped
    }
  }
  return runs;
}

/** One line on the transform runs: how many, by threads, and their sizes and times. */
function formatTransformRuns(runs: readonly TransformRun[]): string {
  if (runs.length === 0) return '  transform runs: none logged';
  const byThreads = new Map<number, TransformRun[]>();
  for (const run of runs) byThreads.set(run.threads, [...(byThreads.get(run.threads) ?? []), run]);
  const parts = [...byThreads.entries()]
    .sort(([a], [b]) => a - b)
    .map(([threads, group]) => {
      const dates = group.map((run) => run.dates);
      const seconds = group.map((run) => run.seconds);
      const sum = seconds.reduce((total, value) => total + value, 0);
      return `${group.length} on ${threads} thread(s) (${Math.min(...dates)}-${Math.max(...dates)} dates, ${Math.min(...seconds).toFixed(1)}-${Math.max(...seconds).toFixed(1)} s each, ${sum.toFixed(0)} s in all)`;
    });
  return `  transform runs: ${runs.length}: ${parts.join('; ')}`;
}

const TARGETS: Record<string, { seconds: number; rssMb: number }> = {
  '120x1': { seconds: 30, rssMb: 1024 },
  '365x10': { seconds: 15 * 60, rssMb: 4096 },
};

/** The breakdown table `npm start` prints after "Time per phase". */
export function parsePhases(output: string): PhaseLine[] {
  const lines = output.split('\n');
  const at = lines.findIndex((line) => line.startsWith('Time per phase'));
  if (at < 0) return [];
  const phases: PhaseLine[] = [];
  for (const line of lines.slice(at + 3)) {
    const match = /^(.+?)\s+([\d.]+) s\s+([\d.-]+) s\s+([\d.-]+) s/.exec(line);
    if (!match) break;
    phases.push({ phase: match[1]!, busyS: Number(match[2]), fromS: Number(match[3]), toS: Number(match[4]) });
  }
  return phases;
}

const PER_DAY_SERVICES = new Set(['sales-gen', 'click-gen', 'startup-gen', 'lander']);

/** Cost per day is flat when the last quarter's per-date cost is at most this times the first's. */
export const FLAT_RATIO = 1.5;

/** Last quarter's per-date cost over the first's (NaN with fewer than two quarters). */
export function costRatio(costs: readonly CostPerDay[]): number {
  if (costs.length < 2) return Number.NaN;
  return costs.at(-1)!.msPerDate / costs[0]!.msPerDate;
}

/** Mean handling time per date of the per-day stages, by quarter of the dates, from the JSON log. */
export function costPerDay(logText: string): CostPerDay[] {
  const byDate = new Map<string, number>();
  const landed = new Set<string>();
  for (const line of logText.split('\n')) {
    if (!line.includes('"handled ')) continue;
    let record: { service?: string; runDate?: string; durationMs?: number; message?: string };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue;
    }
    if (!record.message?.startsWith('handled ') || !PER_DAY_SERVICES.has(record.service ?? '')) continue;
    if (!record.runDate || typeof record.durationMs !== 'number') continue;
    byDate.set(record.runDate, (byDate.get(record.runDate) ?? 0) + record.durationMs);
    if (record.service === 'lander') landed.add(record.runDate);
  }
  // Only dates the lander finished: a stopped run's generators may be ahead of it.
  const dates = [...byDate.keys()].filter((date) => landed.has(date)).sort();
  const quarters: CostPerDay[] = [];
  for (let q = 0; q < 4; q += 1) {
    const slice = dates.slice(Math.floor((q * dates.length) / 4), Math.floor(((q + 1) * dates.length) / 4));
    if (slice.length === 0) continue;
    const total = slice.reduce((sum, date) => sum + byDate.get(date)!, 0);
    quarters.push({ quarter: `${slice[0]}..${slice.at(-1)}`, dates: slice.length, msPerDate: total / slice.length });
  }
  return quarters;
}

/**
 * RSS samples of the command: seconds since the bench started it, its resident set and the kernel's
 * high-water mark of it (VmHWM) at that moment, kB.
 */
export type RssSample = { s: number; kb: number; hwmKb?: number };

/** The command's process under GNU time (its one child): its resident set and high-water mark, kB. */
function commandRss(timePid: number): { kb: number; hwmKb: number } | undefined {
  try {
    const child = readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim().split(/\s+/)[0];
    if (!child) return undefined;
    const status = readFileSync(`/proc/${child}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+)/.exec(status);
    const hwm = /VmHWM:\s+(\d+)/.exec(status);
    return rss && hwm ? { kb: Number(rss[1]), hwmKb: Number(hwm[1]) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Peak RSS within each top-level phase. The phases count from the command's own start, after the
 * process has booted: the boot is taken as the run's wall time minus the command's total. A sample
 * whose high-water mark rose since the sample before counts that mark too: the process peaked
 * between the two samples (a spike shorter than the interval), so within the sample's phase.
 */
export function rssByPhase(samples: readonly RssSample[], phases: readonly PhaseLine[], seconds: number) {
  const total = phases.find((phase) => phase.phase === 'total');
  const boot = total ? Math.max(0, seconds - total.toS) : 0;
  const peaks = samples.map((sample, i) => {
    const before = i > 0 ? samples[i - 1]!.hwmKb : undefined;
    const rose = sample.hwmKb !== undefined && before !== undefined && sample.hwmKb > before;
    return rose ? Math.max(sample.kb, sample.hwmKb!) : sample.kb;
  });
  return phases
    .filter((phase) => !phase.phase.startsWith(' ') && phase.phase !== 'total')
    .map((phase) => {
      const within = peaks.filter((_, i) => {
        const s = samples[i]!.s;
        return s >= boot + phase.fromS && s <= boot + phase.toS + 0.5;
      });
      return { phase: phase.phase, peakMb: Math.max(0, ...within) / 1024 };
    });
}

/** Time `mlops start --no-serve` on a fresh state folder. */
export async function runStartBench(options: StartBenchOptions = {}): Promise<StartBenchResult> {
  const days = options.days ?? 120;
  const scale = options.scale ?? 1;
  const target = TARGETS[`${days}x${scale}`] ?? TARGETS['120x1']!;
  const home = mkdtempSync(join(tmpdir(), 'mlops-start-bench-'));
  const args = [
    '--conditions=@mlops/source',
    '--import',
    'tsx',
    join(repoRoot, 'cli/src/main.ts'),
    'start',
    '--no-serve',
    '--days',
    String(days),
    '--scale',
    String(scale),
  ];
  if (options.until) args.push('--until', options.until);
  const started = performance.now();
  let output = '';
  // Its own process group, so the limit reaches the command (GNU time ignores SIGINT and still reports).
  const child = spawn('/usr/bin/time', ['-f', 'MAXRSS_KB=%M CPU_S=%U+%S', process.execPath, ...args], {
    cwd: repoRoot,
    env: { ...process.env, MLOPS_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const samples: RssSample[] = [];
  const sampler = setInterval(() => {
    const rss = commandRss(child.pid!);
    if (rss !== undefined) samples.push({ s: (performance.now() - started) / 1000, ...rss });
  }, 500);
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let stopped = false;
  const limit = setTimeout(
    () => {
      stopped = true;
      process.kill(-child.pid!, 'SIGINT');
      setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 15_000).unref();
    },
    (options.limitS ?? defaultLimitS(target.seconds)) * 1000,
  );
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(limit);
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  const log = join(home, 'logs', 'mlops.jsonl');
  const logText = existsSync(log) ? readFileSync(log, 'utf8') : '';
  const costs = costPerDay(logText);
  const runs = transformRuns(logText);
  // The run's JSON log outlives its state folder (bench/out, git-ignored), to read after the run.
  if (logText) {
    const kept = join(repoRoot, 'bench', 'out', `start-${days}x${scale}.mlops.jsonl`);
    mkdirSync(dirname(kept), { recursive: true });
    copyFileSync(log, kept);
    console.log(`  the run's log: ${kept}`);
  }
  rmSync(home, { recursive: true, force: true });
  const maxRssMb = Number(/MAXRSS_KB=(\d+)/.exec(output)?.[1] ?? 0) / 1024;
  const cpu = /CPU_S=([\d.]+)\+([\d.]+)/.exec(output);
  const cpuSeconds = cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN;
  const report = output
    .split('\n')
    .filter((line) => !line.startsWith('pipeline:') && !line.startsWith('MAXRSS') && !line.includes('CPU_S='));
  console.log(report.slice(-60).join('\n'));
  return {
    days,
    scale,
    seconds,
    cpuSeconds,
    maxRssMb,
    exitCode,
    stopped,
    targetSeconds: target.seconds,
    targetRssMb: target.rssMb,
    phases: parsePhases(output),
    costPerDay: costs,
    transformRuns: runs,
    rssByPhase: rssByPhase(samples, parsePhases(output), seconds),
  };
}

/**
 * How long a run may take before the bench stops it: 1.75x its wall target, at least 10 min. A year
 * at scale 10 (target 15 min) gets 26 min 15 s, so a year that misses the target by up to 75% still
 * finishes and prints every phase; a slower one is stopped with its per-quarter costs so far.
 */
export function defaultLimitS(targetSeconds: number): number {
  return Math.max(600, 1.75 * targetSeconds);
}

/** The figures of a run against its targets. */
export function formatStartBench(result: StartBenchResult): string {
  const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
  const finished = result.exitCode === 0 && !result.stopped;
  const wallMet = finished && result.seconds < result.targetSeconds;
  const rssMet = result.maxRssMb > 0 && result.maxRssMb < result.targetRssMb;
  const ratio = costRatio(result.costPerDay);
  const flatMet = ratio <= FLAT_RATIO;
  const met = wallMet && rssMet && flatMet;
  const lines = [
    `npm start from cold (fresh state, ${result.days} days, scale ${result.scale}, no dashboard): ${met ? 'MET' : 'MISSED'}`,
    `  wall time ${result.seconds.toFixed(1)} s (target < ${result.targetSeconds} s: ${verdict(wallMet)}${result.stopped ? '; stopped at the bench limit' : ''}), CPU ${result.cpuSeconds.toFixed(1)} s, exit code ${result.exitCode}`,
    `  peak RSS ${result.maxRssMb.toFixed(0)} MB (target < ${result.targetRssMb} MB: ${verdict(rssMet)})`,
    `  cost per day: last quarter / first quarter ${Number.isNaN(ratio) ? 'n/a' : `${ratio.toFixed(2)}x`} (flat: <= ${FLAT_RATIO}x: ${verdict(flatMet)})`,
    '  time per phase (busy s, from s .. to s):',
    ...result.phases.map(
      (phase) =>
        `    ${phase.phase.padEnd(14)} ${phase.busyS.toFixed(1).padStart(7)}   ${phase.fromS.toFixed(1).padStart(7)} .. ${phase.toS.toFixed(1)}`,
    ),
    formatTransformRuns(result.transformRuns),
    `  peak RSS by phase (sampled every 0.5 s, with the high-water mark's rises between samples): ${result.rssByPhase.map((p) => `${p.phase} ${p.peakMb.toFixed(0)} MB`).join(', ') || 'n/a'}`,
    '  cost per day of the per-day stages (generators + lander handling ms per date), by quarter of the dates:',
    ...result.costPerDay.map(
      (quarter) =>
        `    ${quarter.quarter}  ${quarter.msPerDate.toFixed(0).padStart(7)} ms/date  (${quarter.dates} dates)`,
    ),
    `  machine: ${cpus().length} CPUs, load average ${loadavg()
      .map((value) => value.toFixed(1))
      .join(' / ')} at the end`,
  ];
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const value = (name: string) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const until = value('--until');
  const limitS = value('--limit') ? Number(value('--limit')) : undefined;
  let sizes: { days: number; scale: number }[];
  if (value('--days') || value('--scale'))
    sizes = [{ days: Number(value('--days') ?? 120), scale: Number(value('--scale') ?? 1) }];
  else
    sizes = (value('--size') ?? '120x1,365x10').split(',').map((size) => {
      const [days, scale] = size.split('x').map(Number);
      return { days: days!, scale: scale! };
    });
  const results: StartBenchResult[] = [];
  for (const size of sizes) {
    results.push(await runStartBench({ ...size, ...(until ? { until } : {}), ...(limitS ? { limitS } : {}) }));
    console.log(`\n${formatStartBench(results.at(-1)!)}\n`);
  }
  if (results.length > 1) console.log(results.map(formatStartBench).join('\n\n'));
}
