import { Storage } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsObjectStore, dockerSupport, freePort, startContainer, type StartedContainer } from '@mlops/shared/gcp';
import { tempDir } from './helpers.js';

// There is no GCS emulator in the Cloud SDK: STORAGE_EMULATOR_HOST names a running fake-gcs-server,
// or, where a Docker engine answers, one is started here through testcontainers. Without either the
// suite is skipped, loudly.
// The Node client reads STORAGE_EMULATOR_HOST itself, as a base URL: it must carry its scheme.
if (process.env.STORAGE_EMULATOR_HOST && !/^https?:\/\//.test(process.env.STORAGE_EMULATOR_HOST)) {
  process.env.STORAGE_EMULATOR_HOST = `http://${process.env.STORAGE_EMULATOR_HOST}`;
}
const FAKE_GCS_IMAGE = 'fsouza/fake-gcs-server:1.52.2';
let container: StartedContainer | undefined;
const docker = process.env.STORAGE_EMULATOR_HOST ? undefined : dockerSupport();
if (docker?.available) {
  // Uploads follow the Location the server returns, so it must name the published port.
  const hostPort = await freePort();
  const publicHost = `127.0.0.1:${hostPort}`;
  container = await startContainer({
    image: FAKE_GCS_IMAGE,
    command: [
      '-scheme',
      'http',
      '-port',
      '4443',
      '-backend',
      'memory',
      '-public-host',
      publicHost,
      '-external-url',
      `http://${publicHost}`,
    ],
    port: 4443,
    hostPort,
    healthPath: '/storage/v1/b',
    timeoutMs: 600_000,
  });
  process.env.STORAGE_EMULATOR_HOST = `http://${container.host}`;
  console.log(`[emulator] gcs: ${FAKE_GCS_IMAGE} through testcontainers (${docker.runtime}) on ${container.host}`);
}
const emulatorHost = process.env.STORAGE_EMULATOR_HOST;
if (!emulatorHost) {
  console.warn(
    `[skip] GcsObjectStore tests: STORAGE_EMULATOR_HOST is not set and ${docker && !docker.available ? docker.reason : 'no Docker engine answers'}; start fake-gcs-server (docker run --rm -p 4443:4443 ${FAKE_GCS_IMAGE} -scheme http -public-host 127.0.0.1:4443) and set STORAGE_EMULATOR_HOST=http://127.0.0.1:4443`,
  );
}

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe.skipIf(!emulatorHost)('GcsObjectStore on a GCS emulator (STORAGE_EMULATOR_HOST)', () => {
  const bucket = `mlops-test-${randomBytes(4).toString('hex')}`;
  const host = (emulatorHost ?? '').replace(/\/storage\/v1\/?$/, '');
  const endpoint = /^https?:\/\//.test(host) ? host : `http://${host}`;
  const plain = new Storage({ apiEndpoint: endpoint, projectId: 'mlops-test' });
  let store: GcsObjectStore;

  beforeAll(async () => {
    await plain.createBucket(bucket);
    store = new GcsObjectStore({ bucket, prefix: 'lake', emulatorHost, projectId: 'mlops-test' });
  });
  afterAll(async () => {
    await container?.stop();
  });
  afterAll(async () => {
    await plain
      .bucket(bucket)
      .deleteFiles({ force: true })
      .catch(() => undefined);
    await plain
      .bucket(bucket)
      .delete()
      .catch(() => undefined);
  });

  it('puts bytes and a string, with the content hash in metadata that head returns', async () => {
    const content = Buffer.from('{"order_id":1}\n{"order_id":2}\n');
    const meta = await store.put('bronze/clicks/dt=2026-01-31/part-00000.jsonl', content, {
      contentType: 'application/x-ndjson',
    });
    expect(meta).toMatchObject({
      key: 'bronze/clicks/dt=2026-01-31/part-00000.jsonl',
      bytes: content.length,
      sha256: sha256(content),
      contentType: 'application/x-ndjson',
    });
    expect(await store.head('bronze/clicks/dt=2026-01-31/part-00000.jsonl')).toMatchObject({
      sha256: sha256(content),
      bytes: content.length,
    });
    expect(await store.get('bronze/clicks/dt=2026-01-31/part-00000.jsonl')).toEqual(content);
    const [raw] = await plain.bucket(bucket).file('lake/bronze/clicks/dt=2026-01-31/part-00000.jsonl').getMetadata();
    expect(raw.metadata?.sha256).toBe(sha256(content));
    expect((await store.put('notes/readme.txt', 'héllo')).sha256).toBe(sha256(Buffer.from('héllo')));
  });

  it('puts a stream and a local file, hashing what was sent', async () => {
    const parts = [Buffer.from('a'.repeat(70_000)), Buffer.from('b'.repeat(50_000))];
    const meta = await store.put('streams/two-parts.bin', Readable.from(parts));
    expect(meta).toMatchObject({ bytes: 120_000, sha256: sha256(Buffer.concat(parts)) });
    expect(await collect(store.stream('streams/two-parts.bin'))).toEqual(Buffer.concat(parts));
    const dir = tempDir();
    try {
      const path = join(dir.path, 'part.parquet');
      writeFileSync(path, Buffer.from('PAR1 not really parquet PAR1'));
      expect(await store.putFile('bronze/sales/dt=2026-01-31/part-00000.parquet', path)).toMatchObject({
        sha256: sha256(Buffer.from('PAR1 not really parquet PAR1')),
      });
    } finally {
      dir.remove();
    }
  });

  it('replaces an object whole', async () => {
    await store.put('replace/me.txt', 'old content');
    const meta = await store.put('replace/me.txt', 'new');
    expect(meta.sha256).toBe(sha256('new'));
    expect((await store.get('replace/me.txt')).toString()).toBe('new');
  });

  it('lists by prefix in key order, without neighbours that share the text of the prefix', async () => {
    for (const key of [
      'list/sales/dt=2026-01-02/part-1',
      'list/sales/dt=2026-01-01/part-0',
      'list/sales-extra/x',
      'list/other/y',
    ])
      await store.put(key, key);
    expect((await store.list('list/sales/')).map((meta) => meta.key)).toEqual([
      'list/sales/dt=2026-01-01/part-0',
      'list/sales/dt=2026-01-02/part-1',
    ]);
    const [first] = await store.list('list/sales/dt=2026-01-01/');
    expect(first).toMatchObject({ sha256: sha256('list/sales/dt=2026-01-01/part-0') });
  });

  it('hashes an object written by something else when it carries no hash', async () => {
    await plain.bucket(bucket).file('lake/foreign/data.csv').save('a,b\n1,2\n', { resumable: false });
    expect(await store.head('foreign/data.csv')).toMatchObject({ sha256: sha256('a,b\n1,2\n'), bytes: 8 });
  });

  it('reports missing objects: head undefined, get and stream STORE.NOT_FOUND, delete counts only what existed', async () => {
    expect(await store.head('missing/nothing')).toBeUndefined();
    await expect(store.get('missing/nothing')).rejects.toMatchObject({ code: 'STORE.NOT_FOUND' });
    await expect(collect(store.stream('missing/nothing'))).rejects.toMatchObject({ code: 'STORE.NOT_FOUND' });
    await store.put('delete/a', 'a');
    expect(await store.delete(['delete/a', 'delete/a', 'delete/b'])).toBe(1);
    expect(await store.head('delete/a')).toBeUndefined();
  });

  it('gives gs:// URIs and refuses keys that escape or are malformed', async () => {
    expect(store.uri('bronze/sales/dt=2026-01-31/part-00000.parquet')).toBe(
      `gs://${bucket}/lake/bronze/sales/dt=2026-01-31/part-00000.parquet`,
    );
    for (const key of ['../escape', '/absolute', 'a//b', 'a/./b', 'spaces not allowed']) {
      await expect(store.put(key, 'x'), key).rejects.toMatchObject({ code: 'STORE.BAD_KEY' });
    }
    expect(GcsObjectStore.fromUri(`gs://${bucket}/lake`, { emulatorHost }).uri('k')).toBe(`gs://${bucket}/lake/k`);
  });
});
