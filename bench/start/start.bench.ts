/**
 * `npm start` from cold: a fresh state folder (no bus, no documents, no lake, no warehouse, no
 * compiled Dataform graph), the whole pipeline for the last 120 days at scale 1, the report, no
 * dashboard. Target: under 90 s on these 2-core machines. It runs the real command in a child
 * process and reads its wall time and peak memory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Options of {@link runStartBench}. */
export interface StartBenchOptions {
  days?: number;
  scale?: number;
  /** Fixed last date, so runs are comparable (default: yesterday, as `npm start`). */
  until?: string;
}

/** What the start benchmark measured. */
export interface StartBenchResult {
  seconds: number;
  maxRssMb: number;
  exitCode: number | null;
  targetSeconds: number;
}

/** Time `mlops start --no-serve` on a fresh state folder. */
export async function runStartBench(options: StartBenchOptions = {}): Promise<StartBenchResult> {
  const home = mkdtempSync(join(tmpdir(), 'mlops-start-bench-'));
  const args = [
    '--conditions=@mlops/source',
    '--import',
    'tsx',
    join(repoRoot, 'cli/src/main.ts'),
    'start',
    '--no-serve',
    '--days',
    String(options.days ?? 120),
    '--scale',
    String(options.scale ?? 1),
  ];
  if (options.until) args.push('--until', options.until);
  const started = performance.now();
  let output = '';
  const child = spawn('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', process.execPath, ...args], {
    cwd: repoRoot,
    env: { ...process.env, MLOPS_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const seconds = (performance.now() - started) / 1000;
  rmSync(home, { recursive: true, force: true });
  const maxRssMb = Number(/MAXRSS_KB=(\d+)/.exec(output)?.[1] ?? 0) / 1024;
  const report = output.split('\n').filter((line) => !line.startsWith('pipeline:') && !line.startsWith('MAXRSS'));
  console.log(report.slice(-45).join('\n'));
  console.log('\nnpm start from cold (fresh state, 120 days, scale 1, no dashboard)');
  console.log(
    `  wall time ${seconds.toFixed(1)} s (target < 90 s), peak RSS ${maxRssMb.toFixed(0)} MB, exit code ${exitCode}`,
  );
  return { seconds, maxRssMb, exitCode, targetSeconds: 90 };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runStartBench();
}
