/**
 * A warehouse built by the real pipeline: a {@link GeneratedLake} (the real generators and the
 * lander's writers), then the real Dataform project on DuckDB through the transform runner.
 *
 * `LakeWarehouse.cached` builds a given world once per machine and code version (the key hashes
 * the Dataform project, the generators, the lake writers, the transform runner, this fixture and
 * DuckDB's version) and gives every caller its own copy, so parallel test files do not each spend
 * half a minute building the same warehouse. `build` always builds afresh.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDbTransformRunner, FsObjectStore, openDuckDbWarehouse, releaseDuckDbFile } from '@mlops/adapters-local';
import type { TransformRunResult, Warehouse, WarehouseAccess } from '@mlops/kernel';
import { warehouseAccessOf } from '../index.js';
import { GeneratedLake, type LakeWorld } from './lake.fixture.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const PROJECT = join(REPO, 'dataform');
const CACHE = join(tmpdir(), 'mlops-lake-warehouses');

/** Everything whose change could change the built warehouse (a missing one is an error: fix the list). */
const INPUTS = [
  'dataform',
  'shared/synthetic/src',
  'shared/adapters-local/src/dataform',
  'shared/adapters-local/src/duckdb-warehouse.adapter.ts',
  'shared/adapters-local/src/duckdb-parquet-writer.adapter.ts',
  'shared/adapters-local/src/fs-object-store.adapter.ts',
  'shared/kernel/src/ports/transform-runner.port.ts',
  'shared/testing/src/lake',
  'node_modules/@duckdb/node-api/package.json',
].map((path) => join(REPO, path));

function hashInputs(hash: ReturnType<typeof createHash>, path: string): void {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort())
      if (entry !== 'node_modules' && !entry.startsWith('.')) hashInputs(hash, join(path, entry));
    return;
  }
  hash.update(path.slice(REPO.length)).update('\0').update(readFileSync(path)).update('\0');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How long a suite may wait for the cached warehouse: on a clean clone one suite builds it (90 days
 * through the generators and Dataform) while the others wait, with the rest of the test run on the CPU.
 */
export const LAKE_WAREHOUSE_BUILD_TIMEOUT_MS = 900_000;

/** The world of the trainer's tests. */
export const DEFAULT_LAKE_WORLD: LakeWorld = { seed: 7, scale: 1, dirtyShare: 0.01 };

/** Consecutive dates from `first`, `days` of them. */
export function dateRange(first: string, days: number): string[] {
  const start = Date.parse(`${first}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

/** A temporary lake and warehouse; `close` removes them. */
export class LakeWarehouse {
  readonly root: string;
  readonly lakeRoot: string;
  readonly warehousePath: string;
  readonly objects: FsObjectStore;
  private runner: DuckDbTransformRunner | undefined;
  /** Sessions on {@link warehouse}, for code that takes the warehouse port. */
  readonly access: WarehouseAccess;

  private constructor(
    readonly warehouse: Warehouse,
    root: string,
    readonly world: LakeWorld,
    readonly fullLoadDate: string,
  ) {
    this.root = root;
    this.lakeRoot = join(root, 'lake');
    this.warehousePath = join(root, 'warehouse.duckdb');
    this.objects = new FsObjectStore({ root: this.lakeRoot });
    this.access = warehouseAccessOf(warehouse);
  }

  /** Generate `dates` into a fresh lake and build the warehouse for them. */
  static async build(dates: readonly string[], world: LakeWorld = DEFAULT_LAKE_WORLD): Promise<LakeWarehouse> {
    const root = mkdtempSync(join(tmpdir(), 'mlops-lake-wh-'));
    mkdirSync(join(root, 'lake'), { recursive: true });
    const warehouse = await openDuckDbWarehouse({ path: join(root, 'warehouse.duckdb') });
    const built = new LakeWarehouse(warehouse, root, world, dates[0]!);
    await built.add(dates);
    return built;
  }

  /** A copy of the warehouse of these dates, built once per machine and code version. */
  static async cached(dates: readonly string[], world: LakeWorld = DEFAULT_LAKE_WORLD): Promise<LakeWarehouse> {
    const hash = createHash('sha256').update(JSON.stringify({ dates, world }));
    for (const input of INPUTS) hashInputs(hash, input);
    const key = hash.digest('hex').slice(0, 16);
    const ready = join(CACHE, key);
    const lock = `${ready}.lock`;
    mkdirSync(CACHE, { recursive: true });
    for (const started = Date.now(); !existsSync(join(ready, 'READY')); ) {
      let owner = false;
      try {
        mkdirSync(lock);
        owner = true;
      } catch {
        // Another file is building it; take over a lock left by a crashed run.
        if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 10 * 60_000)
          rmSync(lock, { recursive: true, force: true });
      }
      if (owner) {
        try {
          for (const stale of readdirSync(CACHE))
            if (!stale.startsWith(key)) rmSync(join(CACHE, stale), { recursive: true, force: true });
          const built = await LakeWarehouse.build(dates, world);
          // Everything into the database file, so a copy of the folder is the whole warehouse.
          await built.warehouse.execute('checkpoint');
          await built.warehouse.close();
          releaseDuckDbFile(built.warehousePath);
          rmSync(ready, { recursive: true, force: true });
          renameSync(built.root, ready);
          writeFileSync(join(ready, 'READY'), key);
        } finally {
          rmSync(lock, { recursive: true, force: true });
        }
        break;
      }
      if (Date.now() - started > 15 * 60_000) throw new Error(`timed out waiting for the fixture warehouse ${ready}`);
      await sleep(250);
    }
    const root = mkdtempSync(join(tmpdir(), 'mlops-lake-wh-'));
    for (const part of readdirSync(ready))
      if (part !== 'READY') cpSync(join(ready, part), join(root, part), { recursive: true });
    const warehouse = await openDuckDbWarehouse({ path: join(root, 'warehouse.duckdb') });
    return new LakeWarehouse(warehouse, root, world, dates[0]!);
  }

  /** Generate more dates and run the project for them. */
  async add(dates: readonly string[]): Promise<TransformRunResult> {
    const lake = new GeneratedLake(this.lakeRoot, this.world);
    try {
      await lake.landDays(dates, { fullLoadDate: this.fullLoadDate });
    } finally {
      await lake.close();
    }
    this.runner ??= new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: this.lakeRoot,
      warehouse: this.access,
      cacheDir: join(this.root, 'dataform-cache'),
    });
    const result = await this.runner.run({ runDates: dates });
    const failed = result.assertions.filter((assertion) => !assertion.passed);
    if (failed.length > 0)
      throw new Error(`assertions failed: ${failed.map((assertion) => assertion.name).join(', ')}`);
    return result;
  }

  async close(): Promise<void> {
    await this.warehouse.close();
    releaseDuckDbFile(this.warehousePath);
    rmSync(this.root, { recursive: true, force: true });
  }
}
