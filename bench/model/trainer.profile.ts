/**
 * The trainer's steps at a given size, without running the whole platform (bench/model's README):
 * the training pipeline in-process on a copy of an existing warehouse, and per step its wall time,
 * CPU time (this process, DuckDB's threads included) and peak RSS (the kernel's high-water mark,
 * reset before each step through /proc/self/clear_refs).
 *
 * `npx tsx --conditions=@mlops/source bench/model/trainer.profile.ts --home DIR --as-of D [--every N]
 * [--warmup N] [--max-snapshots N] [--predict D,D,...] [--champion-as-of D] [--keep]`; DIR holds a
 * warehouse.duckdb (e.g. the year at scale 10, or a larger scale over fewer days for the same rows).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore, openDuckDbWarehouse, releaseDuckDbFile } from '@mlops/adapters-local';
import { ModelRegistry, createLogger } from '@mlops/kernel';
import { InMemoryDocumentStore, warehouseAccessOf } from '@mlops/testing';
import { CHURN_TRAINING_PIPELINE, LocalPipelineRunner } from '@mlops/trainer';
import { timeSteps } from './pipeline-steps.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const home = option('home');
const asOf = option('as-of');
if (!home || !asOf) {
  console.error('usage: trainer.profile.ts --home DIR --as-of YYYY-MM-DD [--every N] [--warmup N] [--max-snapshots N]');
  process.exit(2);
}

function peakKb(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
}
function rssKb(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}
function resetPeak(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

interface Step {
  name: string;
  wallS: number;
  cpuS: number;
  peakMb: number;
  startMb: number;
  endMb: number;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'mlops-trainer-profile-'));
  const path = join(work, 'warehouse.duckdb');
  cpSync(join(home!, 'warehouse.duckdb'), path);
  const warehouse = await openDuckDbWarehouse({ path });
  const messages: string[] = [];
  const steps: Step[] = [];
  // Each step measured around its component's invocation, with the process's RSS.
  timeSteps(
    CHURN_TRAINING_PIPELINE,
    () => {
      const startMb = rssKb() / 1024;
      resetPeak();
      return startMb;
    },
    (step, startMb) => steps.push({ ...step, peakMb: peakKb() / 1024, startMb, endMb: rssKb() / 1024 }),
  );
  const runner = new LocalPipelineRunner({
    deps: {
      warehouse: warehouseAccessOf(warehouse),
      objects: new FsObjectStore({ root: join(work, 'lake') }),
      registry: new ModelRegistry(new InMemoryDocumentStore()),
      log: createLogger({ sink: (line) => messages.push(String(JSON.parse(line).message)) }),
    },
  });
  const predict = option('predict')?.split(',') ?? [asOf!];
  const run = (date: string, key: string, snapshots: string[]) =>
    runner.run({
      pipeline: CHURN_TRAINING_PIPELINE,
      parameters: {
        as_of: date,
        code_version: 'profile',
        created_at: `${date}T06:00:00.000Z`,
        snapshot_dates: snapshots,
        predicted_at: `${date}T06:00:00.000Z`,
        run_id: key,
        event_id: key,
        ...(option('every') ? { snapshot_every_days: Number(option('every')) } : {}),
        ...(option('warmup') ? { warmup_days: Number(option('warmup')) } : {}),
        ...(option('max-snapshots') ? { max_snapshots: Number(option('max-snapshots')) } : {}),
      },
      runKey: key,
    });
  // A champion trained first (not measured), so that register judges against it as in a running
  // platform: both models score the holdout and their difference is bootstrapped.
  const championAsOf = option('champion-as-of');
  if (championAsOf) {
    await run(championAsOf, 'champion', [championAsOf]);
    console.log(`champion as of ${championAsOf}: ${messages.find((m) => m.startsWith('register:')) ?? ''}`);
    messages.length = 0;
    steps.length = 0;
  }
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; RSS before the run ${(rssKb() / 1024).toFixed(0)} MB`,
  );
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    await run(asOf!, 'profile', predict);
    const used = process.cpuUsage(cpu);
    for (const message of messages) console.log(`  ${message.slice(0, 300)}`);
    console.log(
      `\n${'step'.padEnd(14)} ${'wall s'.padStart(8)} ${'CPU s'.padStart(8)} ${'RSS start'.padStart(10)} ${'peak'.padStart(8)} ${'end MB'.padStart(8)}`,
    );
    for (const step of steps)
      console.log(
        `${step.name.padEnd(14)} ${step.wallS.toFixed(1).padStart(8)} ${step.cpuS.toFixed(1).padStart(8)} ${step.startMb.toFixed(0).padStart(10)} ${step.peakMb.toFixed(0).padStart(8)} ${step.endMb.toFixed(0).padStart(8)}`,
      );
    console.log(
      `whole run: ${((performance.now() - started) / 1000).toFixed(1)} s wall, ${((used.user + used.system) / 1e6).toFixed(1)} s CPU, peak RSS ${Math.max(...steps.map((s) => s.peakMb)).toFixed(0)} MB; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await warehouse.close();
    releaseDuckDbFile(path);
    if (process.argv.includes('--keep')) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
