/**
 * The prediction server against the Vertex AI custom-container contract, with a small GBDT fitted
 * here: health 503 before the model loads and 200 after, predictions in order for object and array
 * instances (equal to the model's own `predictRow`), and every bad request answered with a JSON
 * error naming what was wrong.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { silentLogger } from '@mlops/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, type BinaryClassifier } from '../../src/ml/index.js';
import { startPredictionServer, type PredictionServer } from '../../src/serving/prediction.server.js';
import { startServing } from '../../src/serving/serving.main.js';
import { servingOptions } from '../../src/serving/serving.options.js';
import { bernoulli, syntheticDataset } from '../../src/ml/index.js';

let model: BinaryClassifier;
let folder: string;
let server: PredictionServer;
let base: string;

const FEATURES = ['x0', 'x1', 'x2'];

function instance(values: number[]): Record<string, number | string> {
  return { customer_id: 'c-1', x0: values[0]!, x1: values[1]!, x2: values[2]! };
}

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  const data = syntheticDataset(2_000, 3, (row, u) => bernoulli(4 * row[0]! - 3 * row[1]! * row[2]!, u), 7);
  model = createModel('gbdt', { nTrees: 20, maxDepth: 3, threads: 1 }).fit(data);
  folder = mkdtempSync(join(tmpdir(), 'mlops-serving-'));
  writeFileSync(join(folder, 'model.json'), JSON.stringify(model.toJSON()));
  const started = await startServing(
    {
      AIP_STORAGE_URI: pathToFileURL(folder).href,
      AIP_HTTP_PORT: '0',
      AIP_HEALTH_ROUTE: '/v1/endpoints/e/deployedModels/m',
      AIP_PREDICT_ROUTE: '/v1/endpoints/e/deployedModels/m:predict',
      MLOPS_SERVING_HOST: '127.0.0.1',
      MLOPS_SERVING_MAX_BODY_BYTES: '65536',
    },
    silentLogger,
  );
  if (typeof started === 'number') throw new Error(`the server did not start (exit ${started})`);
  server = started;
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('the prediction server (Vertex AI custom-container contract)', () => {
  it('answers health on AIP_HEALTH_ROUTE once the model is loaded', async () => {
    const response = await fetch(`${base}/v1/endpoints/e/deployedModels/m`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', model: 'gbdt', features: 3 });
  });

  it('predicts one probability per instance, in order, for objects by name and arrays in feature order', async () => {
    const rows = [
      [0.1, 0.9, 0.5],
      [0.9, 0.1, 0.2],
      [0.5, 0.5, 0.5],
    ];
    const instances = [instance(rows[0]!), rows[1], { x2: 0.5, x1: 0.5, x0: 0.5 }];
    const answer = await post('/v1/endpoints/e/deployedModels/m:predict', JSON.stringify({ instances }));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ predictions: rows.map((row) => model.predictRow(row)) });
    expect(model.featureNames).toEqual(FEATURES);
  });

  it('takes null as a missing value, as batch prediction reads a NULL', async () => {
    const answer = await post(
      '/v1/endpoints/e/deployedModels/m:predict',
      JSON.stringify({ instances: [{ x0: null, x1: 0.2, x2: 0.3 }] }),
    );
    expect(answer.status).toBe(200);
    expect(answer.body.predictions).toEqual([model.predictRow([Number.NaN, 0.2, 0.3])]);
  });

  const predictRoute = '/v1/endpoints/e/deployedModels/m:predict';
  it.each([
    ['malformed JSON', '{"instances": [', 400, 'SERVING.BAD_JSON', {}],
    ['a body that is not an object', '[1, 2]', 400, 'SERVING.BAD_REQUEST', {}],
    ['missing instances', '{"inputs": []}', 400, 'SERVING.BAD_REQUEST', {}],
    ['empty instances', '{"instances": []}', 400, 'SERVING.BAD_REQUEST', {}],
    [
      'a missing feature',
      JSON.stringify({ instances: [instance([0.1, 0.2, 0.3]), { x0: 0.1, x2: 0.3 }] }),
      400,
      'SERVING.BAD_INSTANCE',
      { instance: 1, feature: 'x1' },
    ],
    [
      'a string feature',
      JSON.stringify({ instances: [{ x0: 0.1, x1: '0.2', x2: 0.3 }] }),
      400,
      'SERVING.BAD_INSTANCE',
      { instance: 0, feature: 'x1' },
    ],
    [
      'an array of the wrong length',
      JSON.stringify({ instances: [[0.1, 0.2]] }),
      400,
      'SERVING.BAD_INSTANCE',
      { instance: 0 },
    ],
    ['an instance that is a number', JSON.stringify({ instances: [3] }), 400, 'SERVING.BAD_INSTANCE', { instance: 0 }],
  ])('refuses %s with %i and a JSON error', async (_name, body, status, code, details) => {
    const answer = await post(predictRoute, body);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ code, ...details });
    expect(String((answer.body.error as { message: string }).message).length).toBeGreaterThan(10);
  });

  it('names the feature and instance in the message', async () => {
    const answer = await post(
      predictRoute,
      JSON.stringify({ instances: [instance([1, 2, 3]), { x0: 1, x1: 'a', x2: 2 }] }),
    );
    expect((answer.body.error as { message: string }).message).toBe(
      'instance 1: feature "x1" is not a number (a string)',
    );
  });

  it('refuses too large a body with 413, whether declared or streamed', async () => {
    const big = JSON.stringify({ instances: Array.from({ length: 4_000 }, () => instance([0.1, 0.2, 0.3])) });
    expect(big.length).toBeGreaterThan(65_536);
    const declared = await post(predictRoute, big);
    expect(declared.status).toBe(413);
    expect(declared.body.error).toMatchObject({ code: 'SERVING.BODY_TOO_LARGE', limitBytes: 65_536 });
    // Chunked: no content-length, so the limit is counted while reading.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${base}${predictRoute}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      req.on('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode!, body: text }));
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write(big.slice(i * 10_000, (i + 1) * 10_000));
      req.end();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).error.code).toBe('SERVING.BODY_TOO_LARGE');
  });

  it('answers an unknown route with 404, a wrong method with 405 and a non-JSON body with 415', async () => {
    const unknown = await fetch(`${base}/predict`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('SERVING.NOT_FOUND');
    const get = await fetch(`${base}${predictRoute}`);
    expect(get.status).toBe(405);
    const text = await post(predictRoute, 'instances=1', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
  });

  it('answers 503 on health and predict before the model is loaded', async () => {
    const options = servingOptions({ AIP_STORAGE_URI: folder, AIP_HTTP_PORT: '0', MLOPS_SERVING_HOST: '127.0.0.1' });
    const loading = await startPredictionServer(options, silentLogger);
    try {
      const url = `http://127.0.0.1:${loading.port}`;
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { error: { code: string } }).error.code).toBe('SERVING.MODEL_NOT_LOADED');
      const early = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [instance([0.1, 0.2, 0.3])] }),
      });
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('1');
    } finally {
      await loading.close();
    }
  });
});

describe('starting the prediction server', () => {
  it.each([
    ['no AIP_STORAGE_URI', {}, 'AIP_STORAGE_URI'],
    ['a port that is not a number', { AIP_STORAGE_URI: '/m', AIP_HTTP_PORT: 'http' }, 'AIP_HTTP_PORT'],
    ['a route that is not a path', { AIP_STORAGE_URI: '/m', AIP_PREDICT_ROUTE: 'predict' }, 'AIP_PREDICT_ROUTE'],
    ['the same health and predict route', { AIP_STORAGE_URI: '/m', AIP_PREDICT_ROUTE: '/health' }, 'AIP_PREDICT_ROUTE'],
  ])('refuses %s naming the setting', (_name, env, setting) => {
    expect(() => servingOptions(env)).toThrow(expect.objectContaining({ setting }));
  });

  it('exits 1 with the reason when the folder holds no model', async () => {
    const lines: string[] = [];
    const log = (await import('@mlops/kernel')).createLogger({ sink: (line) => lines.push(line) });
    const empty = mkdtempSync(join(tmpdir(), 'mlops-serving-empty-'));
    const code = await startServing(
      { AIP_STORAGE_URI: empty, AIP_HTTP_PORT: '0', MLOPS_SERVING_HOST: '127.0.0.1' },
      log,
    ).finally(() => rmSync(empty, { recursive: true, force: true }));
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/TRAINER\.INVALID_ARTIFACT.*|cannot read the served model/);
  });
});
