import { Storage } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GcsObjectStore } from '@mlops/adapters-gcp';
import { startGcsStandin, type GcsStandin, type StandinLogEntry } from '@mlops/gcp-standins';
import { tempDir } from '@mlops/testing/suites';

// The adapter through the real @google-cloud/storage client against the GCS JSON API stand-in.

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');
const MIB = 1024 * 1024;

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe('GcsObjectStore on the GCS stand-in', () => {
  const bucket = `mlops-test-${randomBytes(4).toString('hex')}`;
  const log: StandinLogEntry[] = [];
  let standin: GcsStandin;
  let plain: Storage;
  let store: GcsObjectStore;

  beforeAll(async () => {
    standin = await startGcsStandin({ log: (entry) => log.push(entry) });
    plain = new Storage({ apiEndpoint: standin.url, projectId: 'mlops-test' });
    await plain.createBucket(bucket);
    store = new GcsObjectStore({ bucket, prefix: 'lake', emulatorHost: standin.url, projectId: 'mlops-test' });
  });
  afterAll(async () => {
    await standin?.stop();
  });
  beforeEach(() => {
    standin.requests.length = 0;
  });

  /** The requests seen since the test began, as `METHOD uploadType` or `METHOD path`. */
  const uploads = () =>
    standin.requests.filter((request) => request.path.startsWith('/upload/')).map((request) => request.method);

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

  it('sends small objects in one request and large ones as chunked resumable uploads', async () => {
    await store.put('size/small.bin', Buffer.alloc(1000, 1));
    expect(uploads()).toEqual(['POST']);
    expect(standin.requests.find((request) => request.path.startsWith('/upload/'))?.query.uploadType).toBe('multipart');

    // Above the default 8 MiB threshold: a session, then 8 MiB chunks.
    standin.requests.length = 0;
    const large = randomBytes(9 * MIB + 12_345);
    expect(await store.put('size/large.bin', large)).toMatchObject({ bytes: large.length, sha256: sha256(large) });
    expect(uploads()).toEqual(['POST', 'PUT', 'PUT']);
    expect(standin.requests.find((request) => request.method === 'POST')?.query).toMatchObject({
      uploadType: 'resumable',
      ifGenerationMatch: '0',
    });
    expect((await store.get('size/large.bin')).equals(large)).toBe(true);

    // A file and a stream through a store with a low threshold and 256 KiB chunks.
    const chunked = new GcsObjectStore({
      bucket,
      prefix: 'lake',
      emulatorHost: standin.url,
      resumableThresholdBytes: MIB,
      resumableChunkBytes: 256 * 1024,
    });
    const content = randomBytes(3 * MIB + 1);
    const dir = tempDir();
    try {
      const path = join(dir.path, 'big.parquet');
      writeFileSync(path, content);
      standin.requests.length = 0;
      expect(await chunked.putFile('size/from-file.parquet', path)).toMatchObject({ sha256: sha256(content) });
      expect(uploads()).toEqual(['POST', ...Array(13).fill('PUT')]);
    } finally {
      dir.remove();
    }
    expect(
      await chunked.put('size/from-stream.bin', Readable.from([content.subarray(0, MIB), content.subarray(MIB)])),
    ).toMatchObject({ bytes: content.length, sha256: sha256(content) });
    expect((await store.get('size/from-file.parquet')).equals(content)).toBe(true);
    expect((await store.get('size/from-stream.bin')).equals(content)).toBe(true);
    expect(() => new GcsObjectStore({ bucket, resumableChunkBytes: 100_000 })).toThrow(/256 KiB/);
  });

  it('replaces an object whole, naming the generation it replaces', async () => {
    await store.put('replace/me.txt', 'old content');
    const [before] = await plain.bucket(bucket).file('lake/replace/me.txt').getMetadata();
    standin.requests.length = 0;
    const meta = await store.put('replace/me.txt', 'new');
    expect(meta.sha256).toBe(sha256('new'));
    expect((await store.get('replace/me.txt')).toString()).toBe('new');
    const write = standin.requests.find((request) => request.path.startsWith('/upload/'));
    expect(write?.query.ifGenerationMatch).toBe(String(before.generation));
  });

  it('concurrent replaces of one key all finish, retrying the writes that lost the race, and leave one whole object', async () => {
    const contents = ['first', 'second writer', 'third writer!', 'fourth writer, longest'].map((text) =>
      Buffer.from(text.repeat(1000)),
    );
    await Promise.all(contents.map((content) => store.put('race/key.txt', content)));
    const lost = standin.requests.filter((request) => request.path.startsWith('/upload/') && request.status === 412);
    expect(lost.length).toBeGreaterThan(0);
    const final = await store.get('race/key.txt');
    expect(contents.some((content) => content.equals(final))).toBe(true);
    expect((await store.head('race/key.txt'))?.sha256).toBe(sha256(final));
  });

  it('putIfAbsent creates once: a second create, or a racing one, leaves the first object untouched', async () => {
    const created = await store.putIfAbsent('mlops/pipelines/p/abc.json', '{"v":1}', {
      contentType: 'application/json',
    });
    expect(created).toMatchObject({ sha256: sha256('{"v":1}'), contentType: 'application/json' });
    expect(await store.putIfAbsent('mlops/pipelines/p/abc.json', '{"v":2}')).toBeUndefined();
    expect((await store.get('mlops/pipelines/p/abc.json')).toString()).toBe('{"v":1}');
    const racing = await Promise.all(['a', 'b', 'c'].map((text) => store.putIfAbsent('mlops/race.json', text)));
    expect(racing.filter((meta) => meta !== undefined)).toHaveLength(1);
    const winner = racing.find((meta) => meta !== undefined)!;
    expect(sha256(await store.get('mlops/race.json'))).toBe(winner.sha256);
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
    expect(first).toMatchObject({ sha256: sha256('list/sales/dt=2026-01-01/part-0'), bytes: 31 });
  });

  it('lists pages of more than a thousand objects', async () => {
    // Written straight into the stand-in's storage: a thousand uploads would only slow the test.
    for (let index = 0; index < 1005; index += 1) {
      const content = Buffer.from(`${index}`);
      standin.storage.write(
        bucket,
        `lake/many/${String(index).padStart(4, '0')}`,
        content,
        {
          metadata: { sha256: sha256(content) },
        },
        {},
      );
    }
    standin.requests.length = 0;
    const listed = await store.list('many/');
    expect(listed).toHaveLength(1005);
    expect(listed.at(-1)).toMatchObject({ key: 'many/1004', sha256: sha256('1004') });
    expect(standin.requests.filter((request) => request.path.endsWith('/o'))).toHaveLength(2);
  });

  it('hashes an object written by something else when head asks, and lists it without reading it', async () => {
    await plain.bucket(bucket).file('lake/foreign/data.csv').save('a,b\n1,2\n', { resumable: false });
    standin.requests.length = 0;
    const [listed] = await store.list('foreign/');
    expect(listed).toMatchObject({ key: 'foreign/data.csv', bytes: 8 });
    expect(listed?.sha256).toBeUndefined();
    expect(standin.requests.filter((request) => request.query.alt === 'media')).toEqual([]);
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

  it('a write to a bucket that does not exist is a permanent STORE.REJECTED', async () => {
    const nowhere = new GcsObjectStore({ bucket: 'no-such-bucket-here', emulatorHost: standin.url });
    await expect(nowhere.put('k', 'x')).rejects.toMatchObject({ code: 'STORE.REJECTED', errorClass: 'permanent' });
    await expect(nowhere.putIfAbsent('k', 'x')).rejects.toMatchObject({ code: 'STORE.REJECTED' });
  });

  it('gives gs:// URIs and refuses keys that escape or are malformed', async () => {
    expect(store.uri('bronze/sales/dt=2026-01-31/part-00000.parquet')).toBe(
      `gs://${bucket}/lake/bronze/sales/dt=2026-01-31/part-00000.parquet`,
    );
    for (const key of ['../escape', '/absolute', 'a//b', 'a/./b', 'spaces not allowed']) {
      await expect(store.put(key, 'x'), key).rejects.toMatchObject({ code: 'STORE.BAD_KEY' });
      await expect(store.putIfAbsent(key, 'x'), key).rejects.toMatchObject({ code: 'STORE.BAD_KEY' });
    }
    expect(GcsObjectStore.fromUri(`gs://${bucket}/lake`, { emulatorHost: standin.url }).uri('k')).toBe(
      `gs://${bucket}/lake/k`,
    );
  });

  it('made no call the stand-in does not implement', () => {
    expect(log.filter((entry) => entry.severity !== 'DEBUG')).toEqual([]);
  });
});
