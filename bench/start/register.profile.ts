/**
 * The trainer's pipeline on a copy of a state folder left by `npm start` (its warehouse and its
 * SQLite document store, sales documents and registry included), to see where `register` spends
 * its time once the document store holds a history (bench/start README, "Session 10 (h75)").
 *
 * `npx tsx --conditions=@mlops/source bench/start/register.profile.ts --home DIR --as-of D
 * [--fresh-registry]`: DIR is an MLOPS_HOME after `npm start -- --no-serve`. `--fresh-registry`
 * empties the registry's collections of the copy first (the first training of a backfill, as in
 * the year's run).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore, SqliteDocumentStore, openDuckDbWarehouse, releaseDuckDbFile } from '@mlops/adapters-local';
import {
  MODEL_DECISIONS_COLLECTION,
  MODEL_PROMOTIONS_COLLECTION,
  MODEL_VERSIONS_COLLECTION,
  ModelRegistry,
  createLogger,
} from '@mlops/kernel';
import { warehouseAccessOf } from '@mlops/testing';
import { CHURN_TRAINING_PIPELINE, LocalPipelineRunner } from '@mlops/trainer';
import { type StepTiming, timeSteps } from '../model/pipeline-steps.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

function rssMb(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const home = option('home');
  const asOf = option('as-of');
  if (!home || !asOf) {
    console.error('usage: register.profile.ts --home DIR --as-of YYYY-MM-DD [--fresh-registry]');
    process.exit(2);
  }
  const work = mkdtempSync(join(tmpdir(), 'mlops-register-profile-'));
  const documentsPath = join(work, 'documents.sqlite');
  for (const suffix of ['', '-wal'])
    if (existsSync(join(home, `documents.sqlite${suffix}`)))
      cpSync(join(home, `documents.sqlite${suffix}`), `${documentsPath}${suffix}`);
  cpSync(join(home, 'warehouse.duckdb'), join(work, 'warehouse.duckdb'));
  const documents = new SqliteDocumentStore({ path: documentsPath });
  if (process.argv.includes('--fresh-registry')) {
    for (const collection of [MODEL_VERSIONS_COLLECTION, MODEL_PROMOTIONS_COLLECTION, MODEL_DECISIONS_COLLECTION]) {
      const ids: string[] = [];
      for await (const document of documents.query(collection, {})) ids.push(document.id);
      await documents.deleteMany(collection, ids);
    }
  }
  const warehouse = await openDuckDbWarehouse({ path: join(work, 'warehouse.duckdb') });
  const lines: { message: string; fields: Record<string, unknown> }[] = [];
  const steps: StepTiming[] = [];
  timeSteps(
    CHURN_TRAINING_PIPELINE,
    () => undefined,
    (step) => steps.push(step),
  );
  const runner = new LocalPipelineRunner({
    deps: {
      warehouse: warehouseAccessOf(warehouse),
      objects: new FsObjectStore({ root: join(work, 'lake') }),
      registry: new ModelRegistry(documents),
      log: createLogger({
        sink: (line) => {
          const { message, ...fields } = JSON.parse(line) as { message: string };
          lines.push({ message, fields });
        },
      }),
    },
  });
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; RSS ${rssMb().toFixed(0)} MB`,
  );
  try {
    await runner.run({
      pipeline: CHURN_TRAINING_PIPELINE,
      parameters: {
        as_of: asOf,
        code_version: 'profile',
        created_at: `${asOf}T06:00:00.000Z`,
        snapshot_dates: [asOf],
        predicted_at: `${asOf}T06:00:00.000Z`,
        run_id: 'register-profile',
        event_id: 'register-profile',
      },
      runKey: 'register-profile',
    });
    for (const line of lines) console.log(`  ${line.message.slice(0, 300)}`);
    for (const step of steps)
      console.log(
        `${step.name.padEnd(14)} ${step.wallS.toFixed(2).padStart(8)} s wall ${step.cpuS.toFixed(2).padStart(8)} s CPU`,
      );
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await warehouse.close();
    releaseDuckDbFile(join(work, 'warehouse.duckdb'));
    await documents.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
