import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../events/message-codec.js';
import type { LogLevel } from '../log/logger.js';
import { parseAllowedHosts } from '../runtime/host-allow-list.js';
import { runDateBoundsFrom, type RunDateBounds } from './run-dates.js';

/** How the platform runs: embedded engines, Google's emulators, or Google Cloud. */
export type Mode = 'local' | 'emulator' | 'gcp';

/** The platform's configuration: typed, validated and frozen. Built only by {@link loadConfig}. */
export interface PlatformConfig {
  readonly mode: Mode;
  /** Folder holding every piece of local state (bus, documents, lake, warehouse, registry). */
  readonly home: string;
  readonly logLevel: LogLevel;
  readonly bus: {
    /** SQLite file of the local event bus. */
    readonly path: string;
    readonly maxAttempts: number;
    readonly backoffMinMs: number;
    readonly backoffMaxMs: number;
    readonly maxMessageBytes: number;
    /** Local bus: how long a delivery stays with a consumer that stopped heartbeating (a crash). */
    readonly leaseMs: number;
  };
  readonly documents: {
    /** SQLite file of the local document store. */
    readonly path: string;
    readonly salesCollection: string;
  };
  readonly lake: {
    /** Folder (local, emulator) or gs:// bucket URI (gcp) of the lake. */
    readonly root: string;
  };
  readonly warehouse: {
    /** DuckDB file (local, emulator). */
    readonly path: string;
    /** Longest wait for a warehouse session while other processes hold the file, ms. */
    readonly waitMs: number;
    /**
     * DuckDB's memory limit per process on the file (local, emulator), e.g. `448MB`; past it DuckDB
     * spills to a temporary folder beside the file. Empty: DuckDB's default (80% of the memory).
     */
    readonly memoryLimit?: string;
    /**
     * DuckDB's memory limit at scale 1 for the warehouse `start` creates while its per-day worker
     * threads are alive (`MLOPS_WAREHOUSE_LANDING_MEMORY_LIMIT`, default
     * {@link DEFAULT_WAREHOUSE_LANDING_MEMORY_LIMIT}; times the scale above 1, never above
     * `memoryLimit`): that first transform run shares the process with the threads' heaps. Empty
     * (`default`): `memoryLimit` throughout.
     */
    readonly landingMemoryLimit?: string;
    /** BigQuery datasets (gcp); locally the DuckDB schemas of the same names. */
    readonly stagingDataset: string;
    readonly warehouseDataset: string;
    /** Where BigQuery jobs run: the datasets' location (gcp). */
    readonly bigqueryLocation: string;
    /** The project whose BigQuery datasets hold the warehouse (gcp; default the platform's project). */
    readonly bigqueryProject: string;
  };
  readonly generators: {
    readonly seed: number;
    readonly scale: number;
    /** Share of deliberately dirty records, 0..0.5. */
    readonly dirtyShare: number;
    /**
     * Key of the HMAC-SHA256 that pseudonymises e-mail addresses and phone numbers; empty when not
     * configured outside local mode (sales-gen, its only user, then refuses to start).
     */
    readonly piiHmacKey: string;
    /**
     * The run dates a start event may name (`MLOPS_EARLIEST_RUN_DATE`, `MLOPS_ALLOW_FUTURE_DATES`);
     * always set by {@link loadConfig}, the defaults when a hand-built setting leaves it out.
     */
    readonly runDates?: RunDateBounds;
  };
  readonly transformer: {
    /** Most run dates in one run of the Dataform project; a longer backlog runs in consecutive runs. */
    readonly maxDatesPerRun: number;
    /**
     * Most landed rows in one run (`MLOPS_TRANSFORM_MAX_ROWS`, default
     * {@link DEFAULT_TRANSFORM_MAX_ROWS}): runs hold fewer dates as the scale grows, so a run fits the
     * warehouse's memory limit at any scale. Absent: no limit (a hand-built setting).
     */
    readonly maxRowsPerRun?: number;
    /**
     * DuckDB's memory limit during a run of large dates, those a run gives one thread
     * (`MLOPS_TRANSFORM_MEMORY_LIMIT`, default {@link DEFAULT_TRANSFORM_MEMORY_LIMIT}; never lowers the
     * warehouse's): the features' lookback at scale 10 needs more than 512MB for a run of a few dates.
     * The warehouse's own limit is restored after the run. Absent: the warehouse's limit.
     */
    readonly memoryLimit?: string;
    /**
     * DuckDB threads of a transform run (`MLOPS_TRANSFORM_THREADS`, default `auto`): `auto` gives a run
     * of large dates the cores the machine has free when it starts (one while other work keeps them
     * busy) with the memory limit scaled to them, and a run of small dates the warehouse's setting;
     * a number pins every run to that many threads (0: the warehouse's setting). Always set by
     * {@link loadConfig}; a hand-built setting that leaves it out gets `auto`.
     */
    readonly threads?: number | 'auto';
  };
  readonly trainer: {
    /** Retrain when the champion is older than this many days of data. */
    readonly retrainEveryDays: number;
    readonly churnHorizonDays: number;
  };
  readonly dashboard: {
    readonly host: string;
    readonly port: number;
    /** Bind to a non-loopback address only when this is set. */
    readonly allowRemote: boolean;
  };
  readonly http: {
    /**
     * Address a service's HTTP transport binds: 127.0.0.1, or 0.0.0.0 on Cloud Run (`K_SERVICE` set),
     * unless `MLOPS_HTTP_HOST` says otherwise.
     */
    readonly host: string;
    /** Its port (`PORT`, as Cloud Run sets it). */
    readonly port: number;
    /** Hosts every HTTP listener answers besides the loopback names (`MLOPS_ALLOWED_HOSTS`). */
    readonly allowedHosts: readonly string[];
    /** The Cloud Run service this process is (`K_SERVICE`): its run.app host is answered too. */
    readonly cloudRunService?: string;
  };
  readonly gcp: {
    readonly projectId: string;
    readonly region: string;
    readonly pubsubEmulatorHost?: string;
    readonly firestoreEmulatorHost?: string;
    readonly storageEmulatorHost?: string;
    readonly dataformRepository?: string;
    readonly dataformWorkspace?: string;
    readonly dataformGitCommitish: string;
    /**
     * Another address of the Dataform API (`DATAFORM_API_ENDPOINT`, `http://host:port`): a stand-in,
     * reached over REST. Unset: Google's.
     */
    readonly dataformApiEndpoint?: string;
    /**
     * Another address of the Vertex AI API (`VERTEX_API_ENDPOINT`, `http://host:port`): a stand-in,
     * reached over REST. Unset: Google's regional endpoint.
     */
    readonly vertexApiEndpoint?: string;
    readonly serviceAccount?: string;
    readonly vertexPipelineRoot?: string;
  };
}

/** The environment as the platform sees it (process.env, or a test's own object). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The development HMAC key used only in local mode when none is configured. */
export const DEV_PII_HMAC_KEY = 'local-development-key-not-for-production';

function text(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function oneOf<T extends string>(env: Environment, name: string, allowed: readonly T[], fallback: T): T {
  const value = text(env, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
}

function number(
  env: Environment,
  name: string,
  fallback: number,
  range: { min: number; max: number; integer?: boolean },
): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ConfigError(name, `must be a number (got "${raw}")`);
  if (range.integer && !Number.isInteger(value)) throw new ConfigError(name, `must be a whole number (got "${raw}")`);
  if (value < range.min || value > range.max)
    throw new ConfigError(name, `must be between ${range.min} and ${range.max} (got ${raw})`);
  return value;
}

function flag(env: Environment, name: string): boolean {
  const raw = text(env, name);
  if (raw === undefined) return false;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
}

function hostPort(env: Environment, name: string): string | undefined {
  const raw = text(env, name);
  if (raw !== undefined && !/^[\w.-]+:\d{1,5}$/.test(raw))
    throw new ConfigError(name, `must be host:port (got "${raw}")`);
  return raw;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Read and validate every setting. A missing or bad value throws a {@link ConfigError} naming the
 * setting, which the entrypoints turn into exit code 1. `cwd` anchors relative paths.
 */
export function loadConfig(env: Environment, cwd: string = process.cwd()): PlatformConfig {
  const mode = oneOf<Mode>(env, 'MLOPS_MODE', ['local', 'emulator', 'gcp'], 'local');
  const homeRaw = text(env, 'MLOPS_HOME') ?? '.mlops';
  const home = isAbsolute(homeRaw) ? homeRaw : resolve(cwd, homeRaw);
  const within = (name: string, fallback: string) => {
    const raw = text(env, name);
    if (raw === undefined) return join(home, fallback);
    return isAbsolute(raw) || raw.startsWith('gs://') ? raw : resolve(cwd, raw);
  };

  const projectId =
    text(env, 'GOOGLE_CLOUD_PROJECT') ?? text(env, 'GCLOUD_PROJECT') ?? (mode === 'gcp' ? undefined : 'mlops-local');
  if (projectId === undefined) throw new ConfigError('GOOGLE_CLOUD_PROJECT', 'is required in gcp mode');
  const pubsubEmulatorHost = hostPort(env, 'PUBSUB_EMULATOR_HOST');
  const firestoreEmulatorHost = hostPort(env, 'FIRESTORE_EMULATOR_HOST');
  if (mode === 'emulator') {
    if (!pubsubEmulatorHost)
      throw new ConfigError('PUBSUB_EMULATOR_HOST', 'is required in emulator mode (host:port of the Pub/Sub emulator)');
    if (!firestoreEmulatorHost)
      throw new ConfigError(
        'FIRESTORE_EMULATOR_HOST',
        'is required in emulator mode (host:port of the Firestore emulator)',
      );
  }
  // The gcp rehearsal runs the gcp code against Google's emulators; nothing else may, by accident.
  if (mode === 'gcp' && (pubsubEmulatorHost || firestoreEmulatorHost) && !flag(env, 'MLOPS_GCP_EMULATORS')) {
    throw new ConfigError(
      pubsubEmulatorHost ? 'PUBSUB_EMULATOR_HOST' : 'FIRESTORE_EMULATOR_HOST',
      'must not be set in gcp mode (it would send traffic to an emulator; MLOPS_GCP_EMULATORS=true allows it for a rehearsal)',
    );
  }

  const lakeRoot = within('MLOPS_LAKE', 'lake');
  if (mode === 'gcp' && !lakeRoot.startsWith('gs://'))
    throw new ConfigError('MLOPS_LAKE', 'must be a gs://bucket URI in gcp mode');

  // Only sales-gen pseudonymises PII, so only its process needs the secret (it refuses to start
  // without it); elsewhere an absent key is empty, and a key that is set must still be usable.
  const piiHmacKey = text(env, 'MLOPS_PII_HMAC_KEY') ?? (mode === 'local' ? DEV_PII_HMAC_KEY : '');
  if (piiHmacKey !== '' && piiHmacKey.length < 16)
    throw new ConfigError('MLOPS_PII_HMAC_KEY', 'must be at least 16 characters');

  const dashboardHost = text(env, 'MLOPS_DASHBOARD_HOST') ?? '127.0.0.1';
  const allowRemote = flag(env, 'MLOPS_DASHBOARD_ALLOW_REMOTE');

  const cloudRunService = text(env, 'K_SERVICE');
  let allowedHosts: string[];
  try {
    allowedHosts = parseAllowedHosts(text(env, 'MLOPS_ALLOWED_HOSTS') ?? '');
  } catch (error) {
    throw new ConfigError('MLOPS_ALLOWED_HOSTS', `${(error as Error).message} (a comma-separated list)`);
  }
  const http: PlatformConfig['http'] = {
    host: text(env, 'MLOPS_HTTP_HOST') ?? (cloudRunService ? '0.0.0.0' : '127.0.0.1'),
    port: number(env, 'PORT', 8080, { min: 0, max: 65535, integer: true }),
    allowedHosts,
    ...optional('cloudRunService', cloudRunService),
  };

  const backoffMinMs = number(env, 'MLOPS_BACKOFF_MIN_MS', 100, { min: 0, max: 600_000, integer: true });
  const backoffMaxMs = number(env, 'MLOPS_BACKOFF_MAX_MS', 60_000, { min: 0, max: 3_600_000, integer: true });
  if (backoffMaxMs < backoffMinMs)
    throw new ConfigError('MLOPS_BACKOFF_MAX_MS', `must be at least MLOPS_BACKOFF_MIN_MS (${backoffMinMs})`);

  const gcp: PlatformConfig['gcp'] = {
    projectId,
    region: text(env, 'MLOPS_REGION') ?? 'europe-west1',
    dataformGitCommitish: text(env, 'DATAFORM_GIT_COMMITISH') ?? 'main',
    ...(pubsubEmulatorHost ? { pubsubEmulatorHost } : {}),
    ...(firestoreEmulatorHost ? { firestoreEmulatorHost } : {}),
    ...optional('storageEmulatorHost', text(env, 'STORAGE_EMULATOR_HOST')),
    ...optional('dataformRepository', text(env, 'DATAFORM_REPOSITORY')),
    ...optional('dataformWorkspace', text(env, 'DATAFORM_WORKSPACE')),
    ...optional('dataformApiEndpoint', endpoint(env, 'DATAFORM_API_ENDPOINT')),
    ...optional('vertexApiEndpoint', endpoint(env, 'VERTEX_API_ENDPOINT')),
    ...optional('serviceAccount', text(env, 'MLOPS_SERVICE_ACCOUNT')),
    ...optional('vertexPipelineRoot', text(env, 'VERTEX_PIPELINE_ROOT')),
  };

  const config: PlatformConfig = {
    mode,
    home,
    logLevel: oneOf<LogLevel>(env, 'MLOPS_LOG_LEVEL', ['debug', 'info', 'warning', 'error'], 'info'),
    bus: {
      path: within('MLOPS_BUS_PATH', 'bus.sqlite'),
      maxAttempts: number(env, 'MLOPS_MAX_ATTEMPTS', 5, { min: 1, max: 100, integer: true }),
      backoffMinMs,
      backoffMaxMs,
      maxMessageBytes: number(env, 'MLOPS_MAX_MESSAGE_BYTES', DEFAULT_MAX_MESSAGE_BYTES, {
        min: 1024,
        max: 10 * 1024 * 1024,
        integer: true,
      }),
      leaseMs: number(env, 'MLOPS_BUS_LEASE_MS', 30_000, { min: 1_000, max: 3_600_000, integer: true }),
    },
    documents: {
      path: within('MLOPS_DOCUMENTS_PATH', 'documents.sqlite'),
      salesCollection: text(env, 'MLOPS_SALES_COLLECTION') ?? 'sales',
    },
    lake: { root: lakeRoot },
    warehouse: {
      path: within('MLOPS_WAREHOUSE_PATH', 'warehouse.duckdb'),
      waitMs: number(env, 'MLOPS_WAREHOUSE_WAIT_MS', 600_000, { min: 0, max: 86_400_000, integer: true }),
      ...optional('memoryLimit', memoryLimit(env, 'MLOPS_WAREHOUSE_MEMORY_LIMIT', DEFAULT_WAREHOUSE_MEMORY_LIMIT)),
      ...optional(
        'landingMemoryLimit',
        memoryLimit(env, 'MLOPS_WAREHOUSE_LANDING_MEMORY_LIMIT', DEFAULT_WAREHOUSE_LANDING_MEMORY_LIMIT),
      ),
      stagingDataset: datasetName(env, 'MLOPS_STAGING_DATASET', 'staging'),
      warehouseDataset: datasetName(env, 'MLOPS_WAREHOUSE_DATASET', 'warehouse'),
      bigqueryLocation: bigqueryLocation(env),
      bigqueryProject: bigqueryProject(env, projectId, mode),
    },
    generators: {
      seed: number(env, 'MLOPS_SEED', 42, { min: 0, max: 4_294_967_295, integer: true }),
      scale: number(env, 'MLOPS_SCALE', 1, { min: 0.001, max: 1000 }),
      dirtyShare: number(env, 'MLOPS_DIRTY_SHARE', 0.01, { min: 0, max: 0.5 }),
      piiHmacKey,
      runDates: runDateBoundsFrom(env),
    },
    transformer: {
      maxDatesPerRun: number(env, 'MLOPS_TRANSFORM_MAX_DATES', 60, { min: 1, max: 3660, integer: true }),
      maxRowsPerRun: number(env, 'MLOPS_TRANSFORM_MAX_ROWS', DEFAULT_TRANSFORM_MAX_ROWS, {
        min: 1_000,
        max: 1_000_000_000,
        integer: true,
      }),
      ...optional('memoryLimit', memoryLimit(env, 'MLOPS_TRANSFORM_MEMORY_LIMIT', DEFAULT_TRANSFORM_MEMORY_LIMIT)),
      threads: transformThreads(env, 'MLOPS_TRANSFORM_THREADS'),
    },
    trainer: {
      retrainEveryDays: number(env, 'MLOPS_RETRAIN_EVERY_DAYS', 7, { min: 1, max: 365, integer: true }),
      churnHorizonDays: number(env, 'MLOPS_CHURN_HORIZON_DAYS', 30, { min: 1, max: 365, integer: true }),
    },
    dashboard: {
      host: dashboardHost,
      port: number(env, 'MLOPS_DASHBOARD_PORT', 8080, { min: 0, max: 65535, integer: true }),
      allowRemote,
    },
    http,
    gcp,
  };
  return deepFreeze(config);
}

/**
 * The default DuckDB memory limit of the local warehouse: `npm start` (120 days at scale 1) peaked at
 * 1.1 GB in the transform without one. Its peak is the first transform run's buffer pool beside the
 * last dates landing: at 512MB it spanned 930-1,030 MB across runs, at 448MB 880-910 MB with the
 * same CPU; the npm-start-shaped runs (120 dates, and 60 after 60) pass at 400MB too, and the year
 * at scale 10 (whose large runs raise it, `DEFAULT_TRANSFORM_MEMORY_LIMIT`) took the same time
 * (bench/start README, Session 12).
 */
export const DEFAULT_WAREHOUSE_MEMORY_LIMIT = '448MB';

/**
 * The default DuckDB memory limit at scale 1 of a warehouse `start` creates while its per-day worker
 * threads are alive (see `warehouse.landingMemoryLimit`). The 120x1 peak is that first transform
 * run's buffer pool beside the threads' V8 heaps (~290 MB of V8 pages at the peak, bench/start
 * README, Session 13). Measured alone, that run (60 dates, no history) passes at 256MB; with 60
 * dates of history a run needs more than 320MB, and 60 dates at scale 3 more than 320MB too (they
 * pass at 448MB): so the cap holds only for the run that creates the file and grows with the scale.
 */
export const DEFAULT_WAREHOUSE_LANDING_MEMORY_LIMIT = '320MB';

/**
 * The cap `start` puts on the warehouse it creates while its worker threads are alive:
 * `warehouse.landingMemoryLimit` per unit of scale from scale 1 up (DuckDB's need grows with the
 * rows of a run), or none when that is not below `warehouse.memoryLimit`.
 */
export function landingWarehouseMemoryCap(config: PlatformConfig): string | undefined {
  const { landingMemoryLimit, memoryLimit } = config.warehouse;
  if (landingMemoryLimit === undefined) return undefined;
  const bytes = memoryBytes(landingMemoryLimit) * Math.max(1, config.generators.scale);
  if (memoryLimit !== undefined && !(bytes < memoryBytes(memoryLimit))) return undefined;
  return `${Math.round(bytes / 1e6)}MB`;
}

let warehouseMemoryCap: string | undefined;

/**
 * Cap DuckDB's memory limit of a local warehouse this thread creates from now on (an instance
 * opened on a file that does not exist yet: its first transform run, which has no history to read);
 * `undefined` lifts the cap. An instance already open keeps its limit until it closes. `start`
 * sets it (`landingWarehouseMemoryCap`) while its worker threads are alive.
 */
export function capWarehouseMemory(limit: string | undefined): void {
  warehouseMemoryCap = limit;
}

/**
 * The memory limit of a warehouse instance opened now: the configured one, or the cap when lower
 * and the instance creates the file.
 */
export function cappedWarehouseMemoryLimit(configured: string | undefined, creates: boolean): string | undefined {
  if (warehouseMemoryCap === undefined || !creates) return configured;
  if (configured === undefined) return warehouseMemoryCap;
  return memoryBytes(warehouseMemoryCap) < memoryBytes(configured) ? warehouseMemoryCap : configured;
}

/** Bytes of a size as DuckDB reads it (`MB` 10^6, `MiB` 2^20). */
function memoryBytes(size: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT])(i?)B$/i.exec(size.trim());
  if (!match) return Number.POSITIVE_INFINITY;
  return Number(match[1]) * (match[3] ? 1024 : 1000) ** ('KMGT'.indexOf(match[2]!.toUpperCase()) + 1);
}

/**
 * The default most landed rows in one transform run: about 170 days at scale 1 (sales and clickstream
 * land about 2,300 rows a day), so `npm start`'s runs are its 60 dates, and about 17 days at scale 10.
 * A run reads the features' 90-day history whatever its size, so larger runs cost less per date; this
 * keeps a run at scale 10 within the default memory limit with room (bench/transform measures it).
 */
export const DEFAULT_TRANSFORM_MAX_ROWS = 400_000;

/** DuckDB's memory limit during a transform run of large dates (see `transformer.memoryLimit`). */
export const DEFAULT_TRANSFORM_MEMORY_LIMIT = '1GB';

/** DuckDB threads of a transform run: `auto`, or a whole number from 0 (the warehouse's setting). */
function transformThreads(env: Environment, name: string): number | 'auto' {
  const raw = text(env, name);
  if (raw === undefined || raw.toLowerCase() === 'auto') return 'auto';
  return number(env, name, 0, { min: 0, max: 256, integer: true });
}

/** A DuckDB memory size (`512MB`, `2GB`, `1.5GiB`), or `default` for DuckDB's own. */
function memoryLimit(env: Environment, name: string, fallback: string): string | undefined {
  const value = text(env, name) ?? fallback;
  if (value.toLowerCase() === 'default') return undefined;
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(value))
    throw new ConfigError(name, `must be a size such as 512MB or 2GB, or "default" (got "${value.slice(0, 100)}")`);
  return value;
}

/** An `http(s)://host:port` setting, without path. */
function endpoint(env: Environment, name: string): string | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `must be an http(s)://host:port address (got "${value.slice(0, 100)}")`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== ''))
    throw new ConfigError(name, `must be an http(s)://host:port address without a path (got "${value.slice(0, 100)}")`);
  return `${url.protocol}//${url.host}`;
}

/**
 * A dataset (schema) name: a plain identifier, since the services' SQL names it unquoted on
 * DuckDB and BigQuery alike.
 */
function datasetName(env: Environment, name: string, fallback: string): string {
  const value = text(env, name) ?? fallback;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/.test(value))
    throw new ConfigError(
      name,
      `must be a BigQuery dataset name: letters, digits and _, not starting with a digit (got "${value}")`,
    );
  return value;
}

/** A BigQuery location: a multi-region (`EU`, `US`) or a region (`europe-west1`). */
function bigqueryLocation(env: Environment): string {
  const value = text(env, 'MLOPS_BIGQUERY_LOCATION') ?? 'EU';
  if (!/^([A-Za-z]{2}|[a-z]+-[a-z]+\d+)$/.test(value))
    throw new ConfigError(
      'MLOPS_BIGQUERY_LOCATION',
      `must be a multi-region like EU or a region like europe-west1 (got "${value}")`,
    );
  return value;
}

/** A Google Cloud project id (checked in gcp mode, the only one that uses it): 6 to 30 lowercase letters, digits and hyphens. */
function bigqueryProject(env: Environment, projectId: string, mode: Mode): string {
  const value = text(env, 'MLOPS_BIGQUERY_PROJECT') ?? projectId;
  if (mode === 'gcp' && !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(value))
    throw new ConfigError('MLOPS_BIGQUERY_PROJECT', `must be a Google Cloud project id (got "${value}")`);
  return value;
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
