import { describe, expect, it } from 'vitest';
import { ConfigError, landingWarehouseMemoryCap, loadConfig } from '@mlops/kernel';

describe('loadConfig', () => {
  it('defaults to the embedded local mode with state under .mlops', () => {
    const config = loadConfig({}, '/tmp/project');
    expect(config.mode).toBe('local');
    expect(config.home).toBe('/tmp/project/.mlops');
    expect(config.bus.path).toBe('/tmp/project/.mlops/bus.sqlite');
    expect(config.lake.root).toBe('/tmp/project/.mlops/lake');
    expect(config.generators).toMatchObject({ seed: 42, scale: 1, dirtyShare: 0.01 });
    expect(config.dashboard).toMatchObject({ host: '127.0.0.1', port: 8080, allowRemote: false });
  });

  it('limits the local warehouse to 448MB of DuckDB memory unless told otherwise', () => {
    expect(loadConfig({}).warehouse.memoryLimit).toBe('448MB');
    expect(loadConfig({ MLOPS_WAREHOUSE_MEMORY_LIMIT: '2GB' }).warehouse.memoryLimit).toBe('2GB');
    expect(loadConfig({ MLOPS_WAREHOUSE_MEMORY_LIMIT: '1.5GiB' }).warehouse.memoryLimit).toBe('1.5GiB');
    expect(loadConfig({ MLOPS_WAREHOUSE_MEMORY_LIMIT: 'default' }).warehouse.memoryLimit).toBeUndefined();
  });

  it("caps the warehouse start creates at 320MB per unit of scale, never at or above the warehouse's limit", () => {
    const cap = (env: Record<string, string>) => landingWarehouseMemoryCap(loadConfig(env));
    expect(loadConfig({}).warehouse.landingMemoryLimit).toBe('320MB');
    expect(cap({})).toBe('320MB');
    expect(cap({ MLOPS_SCALE: '0.5' })).toBe('320MB');
    expect(cap({ MLOPS_SCALE: '1.25' })).toBe('400MB');
    expect(cap({ MLOPS_SCALE: '2' })).toBeUndefined();
    expect(cap({ MLOPS_SCALE: '2', MLOPS_WAREHOUSE_MEMORY_LIMIT: '1GB' })).toBe('640MB');
    expect(cap({ MLOPS_WAREHOUSE_MEMORY_LIMIT: 'default' })).toBe('320MB');
    expect(cap({ MLOPS_WAREHOUSE_LANDING_MEMORY_LIMIT: '256MiB' })).toBe('268MB');
    expect(cap({ MLOPS_WAREHOUSE_LANDING_MEMORY_LIMIT: 'default' })).toBeUndefined();
    expect(() => loadConfig({ MLOPS_WAREHOUSE_LANDING_MEMORY_LIMIT: 'lots' })).toThrow(ConfigError);
  });

  it('caps a transform run at 60 dates and 400,000 landed rows unless told otherwise', () => {
    expect(loadConfig({}).transformer).toEqual({
      maxDatesPerRun: 60,
      maxRowsPerRun: 400_000,
      memoryLimit: '1GB',
      threads: 'auto',
    });
    expect(loadConfig({ MLOPS_TRANSFORM_MAX_ROWS: '50000' }).transformer.maxRowsPerRun).toBe(50_000);
  });

  it('reads the memory limit of large transform runs (a DuckDB size, or default for the warehouse limit)', () => {
    expect(loadConfig({ MLOPS_TRANSFORM_MEMORY_LIMIT: '2GB' }).transformer.memoryLimit).toBe('2GB');
    expect(loadConfig({ MLOPS_TRANSFORM_MEMORY_LIMIT: 'default' }).transformer.memoryLimit).toBeUndefined();
    expect(() => loadConfig({ MLOPS_TRANSFORM_MEMORY_LIMIT: 'lots' })).toThrow(/MLOPS_TRANSFORM_MEMORY_LIMIT/);
  });

  it('reads the DuckDB threads of a transform run: auto, or a whole number from 0', () => {
    expect(loadConfig({ MLOPS_TRANSFORM_THREADS: 'auto' }).transformer.threads).toBe('auto');
    expect(loadConfig({ MLOPS_TRANSFORM_THREADS: 'AUTO' }).transformer.threads).toBe('auto');
    expect(loadConfig({ MLOPS_TRANSFORM_THREADS: ' ' }).transformer.threads).toBe('auto');
    expect(loadConfig({ MLOPS_TRANSFORM_THREADS: '1' }).transformer.threads).toBe(1);
    expect(loadConfig({ MLOPS_TRANSFORM_THREADS: '2' }).transformer.threads).toBe(2);
    expect(loadConfig({ MLOPS_TRANSFORM_THREADS: '0' }).transformer.threads).toBe(0);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.bus)).toBe(true);
  });

  it.each([
    [{ MLOPS_MODE: 'cloud' }, 'MLOPS_MODE'],
    [{ MLOPS_SCALE: '-1' }, 'MLOPS_SCALE'],
    [{ MLOPS_SCALE: 'lots' }, 'MLOPS_SCALE'],
    [{ MLOPS_SEED: '1.5' }, 'MLOPS_SEED'],
    [{ MLOPS_DIRTY_SHARE: '0.9' }, 'MLOPS_DIRTY_SHARE'],
    [{ MLOPS_WAREHOUSE_MEMORY_LIMIT: 'lots' }, 'MLOPS_WAREHOUSE_MEMORY_LIMIT'],
    [{ MLOPS_WAREHOUSE_MEMORY_LIMIT: '512' }, 'MLOPS_WAREHOUSE_MEMORY_LIMIT'],
    [{ MLOPS_TRANSFORM_MAX_ROWS: '10' }, 'MLOPS_TRANSFORM_MAX_ROWS'],
    [{ MLOPS_TRANSFORM_MAX_ROWS: '1e5.5' }, 'MLOPS_TRANSFORM_MAX_ROWS'],
    [{ MLOPS_TRANSFORM_THREADS: 'many' }, 'MLOPS_TRANSFORM_THREADS'],
    [{ MLOPS_TRANSFORM_THREADS: '1.5' }, 'MLOPS_TRANSFORM_THREADS'],
    [{ MLOPS_TRANSFORM_THREADS: '-1' }, 'MLOPS_TRANSFORM_THREADS'],
    [{ MLOPS_DASHBOARD_PORT: '70000' }, 'MLOPS_DASHBOARD_PORT'],
    [{ MLOPS_DASHBOARD_ALLOW_REMOTE: 'maybe' }, 'MLOPS_DASHBOARD_ALLOW_REMOTE'],
    [{ MLOPS_BACKOFF_MIN_MS: '500', MLOPS_BACKOFF_MAX_MS: '100' }, 'MLOPS_BACKOFF_MAX_MS'],
    [{ MLOPS_MODE: 'emulator' }, 'PUBSUB_EMULATOR_HOST'],
    [{ MLOPS_MODE: 'emulator', PUBSUB_EMULATOR_HOST: 'localhost:8085' }, 'FIRESTORE_EMULATOR_HOST'],
    [
      { MLOPS_MODE: 'emulator', PUBSUB_EMULATOR_HOST: 'nonsense', FIRESTORE_EMULATOR_HOST: 'localhost:8086' },
      'PUBSUB_EMULATOR_HOST',
    ],
    [{ MLOPS_MODE: 'gcp' }, 'GOOGLE_CLOUD_PROJECT'],
    [{ MLOPS_ALLOWED_HOSTS: 'dash.example.com, http://evil.example' }, 'MLOPS_ALLOWED_HOSTS'],
    [{ MLOPS_ALLOWED_HOSTS: '*.[::1]' }, 'MLOPS_ALLOWED_HOSTS'],
    [{ PORT: '99999' }, 'PORT'],
    [{ DATAFORM_API_ENDPOINT: '127.0.0.1:9000' }, 'DATAFORM_API_ENDPOINT'],
    [{ DATAFORM_API_ENDPOINT: 'http://127.0.0.1:9000/v1' }, 'DATAFORM_API_ENDPOINT'],
    [{ VERTEX_API_ENDPOINT: 'ftp://127.0.0.1:9001' }, 'VERTEX_API_ENDPOINT'],
    [
      { MLOPS_MODE: 'gcp', GOOGLE_CLOUD_PROJECT: 'p', MLOPS_LAKE: 'gs://b', MLOPS_PII_HMAC_KEY: 'short' },
      'MLOPS_PII_HMAC_KEY',
    ],
    [{ MLOPS_MODE: 'gcp', GOOGLE_CLOUD_PROJECT: 'p', MLOPS_PII_HMAC_KEY: 'a-long-enough-secret' }, 'MLOPS_LAKE'],
    [
      {
        MLOPS_MODE: 'gcp',
        GOOGLE_CLOUD_PROJECT: 'p',
        MLOPS_LAKE: 'gs://b',
        MLOPS_PII_HMAC_KEY: 'a-long-enough-secret',
        PUBSUB_EMULATOR_HOST: 'localhost:1',
      },
      'PUBSUB_EMULATOR_HOST',
    ],
  ])('refuses %o naming %s', (env, setting) => {
    let thrown: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).setting).toBe(setting);
    expect((thrown as ConfigError).message).toContain(setting);
  });

  it('needs no PII key outside sales-gen: absent is empty, so only sales-gen is given the secret', () => {
    const config = loadConfig({ MLOPS_MODE: 'gcp', GOOGLE_CLOUD_PROJECT: 'acme-data', MLOPS_LAKE: 'gs://acme-lake' });
    expect(config.generators.piiHmacKey).toBe('');
  });

  it('lets a gcp rehearsal reach the emulators only when MLOPS_GCP_EMULATORS says so', () => {
    const env = {
      MLOPS_MODE: 'gcp',
      GOOGLE_CLOUD_PROJECT: 'acme-data',
      MLOPS_LAKE: 'gs://acme-lake',
      PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
      FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086',
    };
    expect(() => loadConfig(env)).toThrow(/MLOPS_GCP_EMULATORS/);
    expect(() => loadConfig({ ...env, MLOPS_GCP_EMULATORS: 'maybe' })).toThrow(/MLOPS_GCP_EMULATORS/);
    const config = loadConfig({ ...env, MLOPS_GCP_EMULATORS: 'true' });
    expect(config.mode).toBe('gcp');
    expect(config.gcp).toMatchObject({ pubsubEmulatorHost: '127.0.0.1:8085', firestoreEmulatorHost: '127.0.0.1:8086' });
  });

  it('accepts a complete gcp configuration', () => {
    const config = loadConfig({
      MLOPS_MODE: 'gcp',
      GOOGLE_CLOUD_PROJECT: 'acme-data',
      MLOPS_LAKE: 'gs://acme-lake',
      MLOPS_PII_HMAC_KEY: 'a-long-enough-secret',
    });
    expect(config.gcp.projectId).toBe('acme-data');
    expect(config.lake.root).toBe('gs://acme-lake');
  });

  it.each([
    ['a laptop', {}, '127.0.0.1'],
    ['Cloud Run (K_SERVICE set)', { K_SERVICE: 'lander' }, '0.0.0.0'],
    ['an explicit MLOPS_HTTP_HOST', { MLOPS_HTTP_HOST: '0.0.0.0' }, '0.0.0.0'],
    ['an explicit MLOPS_HTTP_HOST on Cloud Run', { K_SERVICE: 'lander', MLOPS_HTTP_HOST: '127.0.0.1' }, '127.0.0.1'],
  ])('binds the HTTP transport on %s to %s', (_where, env, host) => {
    expect(loadConfig(env).http.host).toBe(host);
  });

  it('reads the allowed hosts, the port and the Cloud Run service', () => {
    const config = loadConfig({
      MLOPS_ALLOWED_HOSTS: 'dash.example.com, *.corp.example:8443,',
      PORT: '9000',
      K_SERVICE: 'trainer',
    });
    expect(config.http).toEqual({
      host: '0.0.0.0',
      port: 9000,
      allowedHosts: ['dash.example.com', '*.corp.example:8443'],
      cloudRunService: 'trainer',
    });
    expect(loadConfig({}).http).toEqual({ host: '127.0.0.1', port: 8080, allowedHosts: [] });
  });

  it('reads the run-date bounds: 2020-01-01 and no future dates by default', () => {
    expect(loadConfig({}).generators.runDates).toEqual({ earliest: '2020-01-01', allowFuture: false });
    expect(
      loadConfig({ MLOPS_EARLIEST_RUN_DATE: '2025-06-01', MLOPS_ALLOW_FUTURE_DATES: 'true' }).generators.runDates,
    ).toEqual({ earliest: '2025-06-01', allowFuture: true });
    expect(() => loadConfig({ MLOPS_EARLIEST_RUN_DATE: '2025-02-30' })).toThrow(/MLOPS_EARLIEST_RUN_DATE/);
    expect(() => loadConfig({ MLOPS_ALLOW_FUTURE_DATES: 'sometimes' })).toThrow(/MLOPS_ALLOW_FUTURE_DATES/);
  });

  it('reads another address of the Dataform API (a stand-in) as its origin', () => {
    expect(loadConfig({ DATAFORM_API_ENDPOINT: 'http://127.0.0.1:9000/' }).gcp.dataformApiEndpoint).toBe(
      'http://127.0.0.1:9000',
    );
    expect(loadConfig({}).gcp.dataformApiEndpoint).toBeUndefined();
  });

  it('reads another address of the Vertex AI API (a stand-in) as its origin', () => {
    expect(loadConfig({ VERTEX_API_ENDPOINT: 'http://127.0.0.1:9001' }).gcp.vertexApiEndpoint).toBe(
      'http://127.0.0.1:9001',
    );
    expect(loadConfig({}).gcp.vertexApiEndpoint).toBeUndefined();
  });
});

describe('loadConfig: the BigQuery warehouse settings', () => {
  const gcp = {
    MLOPS_MODE: 'gcp',
    GOOGLE_CLOUD_PROJECT: 'acme-data',
    MLOPS_LAKE: 'gs://acme-lake',
    MLOPS_PII_HMAC_KEY: 'k'.repeat(32),
  };

  it('defaults the datasets, the location and the project (the platform project)', () => {
    expect(loadConfig(gcp).warehouse).toMatchObject({
      stagingDataset: 'staging',
      warehouseDataset: 'warehouse',
      bigqueryLocation: 'EU',
      bigqueryProject: 'acme-data',
    });
    expect(
      loadConfig({
        ...gcp,
        MLOPS_WAREHOUSE_DATASET: 'gold_v2',
        MLOPS_BIGQUERY_LOCATION: 'europe-west1',
        MLOPS_BIGQUERY_PROJECT: 'acme-warehouse',
      }).warehouse,
    ).toMatchObject({
      warehouseDataset: 'gold_v2',
      bigqueryLocation: 'europe-west1',
      bigqueryProject: 'acme-warehouse',
    });
  });

  it.each([
    [{ MLOPS_WAREHOUSE_DATASET: 'gold-v2' }, 'MLOPS_WAREHOUSE_DATASET'],
    [{ MLOPS_STAGING_DATASET: 'staging; drop' }, 'MLOPS_STAGING_DATASET'],
    [{ MLOPS_WAREHOUSE_DATASET: '1gold' }, 'MLOPS_WAREHOUSE_DATASET'],
    [{ MLOPS_BIGQUERY_LOCATION: 'mars' }, 'MLOPS_BIGQUERY_LOCATION'],
    [{ MLOPS_BIGQUERY_PROJECT: 'Acme_Data' }, 'MLOPS_BIGQUERY_PROJECT'],
  ])('refuses %j naming %s', (env, setting) => {
    expect(() => loadConfig({ ...gcp, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...gcp, ...env })).toThrow(new RegExp(`^${setting}:`));
  });
});
