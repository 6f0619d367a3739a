import { Storage, type Bucket } from '@google-cloud/storage';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcsStandin, type GcsStandin, type StandinLogEntry } from '../src/index.js';
import { crc32cBase64, md5Base64 } from '../src/gcs/checksums.js';

// The GCS stand-in through the real @google-cloud/storage client, and through raw HTTP where the
// client cannot send what is being checked.

describe('GCS JSON API stand-in', () => {
  const log: StandinLogEntry[] = [];
  let standin: GcsStandin;
  let bucket: Bucket;

  beforeAll(async () => {
    standin = await startGcsStandin({ log: (entry) => log.push(entry) });
    const storage = new Storage({ apiEndpoint: standin.url, projectId: 'standin-test' });
    [bucket] = await storage.createBucket('standin-bucket');
  });
  afterAll(async () => {
    await standin?.stop();
  });

  const generationOf = async (name: string) => String((await bucket.file(name).getMetadata())[0].generation);

  it('computes CRC-32C and MD5 as GCS does (known vectors)', () => {
    // RFC 3720's CRC-32C check value of "123456789" is 0xE3069283.
    expect(Buffer.from(crc32cBase64(Buffer.from('123456789')), 'base64').toString('hex')).toBe('e3069283');
    expect(md5Base64(Buffer.from(''))).toBe('1B2M2Y8AsgTpgAmY7PhCfg==');
  });

  it('keeps generations, metagenerations, content type and custom metadata', async () => {
    const file = bucket.file('dir/object.json');
    await file.save('{"a":1}', {
      resumable: false,
      metadata: { contentType: 'application/json', metadata: { k: 'v' } },
    });
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({
      name: 'dir/object.json',
      bucket: 'standin-bucket',
      size: '7',
      metageneration: '1',
      contentType: 'application/json',
      metadata: { k: 'v' },
      md5Hash: md5Base64(Buffer.from('{"a":1}')),
      crc32c: crc32cBase64(Buffer.from('{"a":1}')),
    });
    expect(String(meta.generation)).toMatch(/^\d{16}$/);
    await file.save('{"a":2}', { resumable: false });
    expect(BigInt(await generationOf('dir/object.json'))).toBeGreaterThan(BigInt(String(meta.generation)));
  });

  it('honours ifGenerationMatch (0: must not exist), ifGenerationNotMatch and ifMetagenerationMatch with 412', async () => {
    const file = bucket.file('pre/conditions.txt');
    await file.save('one', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const generation = Number(await generationOf('pre/conditions.txt'));
    await expect(
      file.save('two', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
    ).rejects.toMatchObject({ code: 412 });
    await expect(
      file.save('two', { resumable: false, preconditionOpts: { ifGenerationMatch: generation + 1 } }),
    ).rejects.toMatchObject({ code: 412 });
    await expect(file.save('two', { resumable: true, preconditionOpts: { ifGenerationMatch: 0 } })).rejects.toThrow(
      /412/,
    );
    await file.save('two', { resumable: false, preconditionOpts: { ifGenerationMatch: generation } });
    expect((await file.download())[0].toString()).toBe('two');
    const current = await generationOf('pre/conditions.txt');
    const url = `${standin.url}/upload/storage/v1/b/standin-bucket/o?uploadType=media&name=pre%2Fconditions.txt`;
    expect((await fetch(`${url}&ifGenerationNotMatch=${current}`, { method: 'POST', body: 'x' })).status).toBe(412);
    expect((await fetch(`${url}&ifMetagenerationMatch=2`, { method: 'POST', body: 'x' })).status).toBe(412);
    expect((await fetch(`${url}&ifMetagenerationMatch=1`, { method: 'POST', body: 'three' })).status).toBe(200);
    await expect(file.delete({ ifGenerationMatch: Number(current) })).rejects.toMatchObject({ code: 412 });
    await file.delete({ ifGenerationMatch: Number(await generationOf('pre/conditions.txt')) });
    expect((await file.exists())[0]).toBe(false);
    // A read whose NotMatch condition fails is "not modified"; a failed Match is 412.
    await bucket.file('pre/read.txt').save('r', { resumable: false });
    const readGeneration = await generationOf('pre/read.txt');
    const get = (query: string) => fetch(`${standin.url}/storage/v1/b/standin-bucket/o/pre%2Fread.txt?${query}`);
    expect((await get(`ifGenerationNotMatch=${readGeneration}`)).status).toBe(304);
    expect((await get('ifGenerationMatch=1')).status).toBe(412);
  });

  it('runs a resumable upload in 256 KiB-granular chunks with 308 answers, and resumes from the persisted offset', async () => {
    const content = randomBytes(700 * 1024);
    const start = await fetch(`${standin.url}/upload/storage/v1/b/standin-bucket/o?uploadType=resumable&name=r.bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-upload-content-type': 'application/x-test' },
      body: JSON.stringify({ metadata: { sha256: 'x' } }),
    });
    expect(start.status).toBe(200);
    const session = start.headers.get('location')!;
    expect(session).toContain('upload_id=');
    const put = (range: string, body: Buffer) =>
      fetch(session, { method: 'PUT', headers: { 'content-range': range }, body: new Uint8Array(body) });
    // 300 KiB sent: only 256 KiB persist; the client must resend from there.
    const first = await put('bytes 0-307199/*', content.subarray(0, 300 * 1024));
    expect(first.status).toBe(308);
    expect(first.headers.get('range')).toBe('bytes=0-262143');
    const status = await put('bytes */*', Buffer.alloc(0));
    expect([status.status, status.headers.get('range')]).toEqual([308, 'bytes=0-262143']);
    // A chunk that starts beyond what was persisted is refused.
    expect((await put(`bytes 300000-300009/${content.length}`, content.subarray(300000, 300010))).status).toBe(400);
    // The rest, overlapping what is persisted, completes the object.
    const done = await put(`bytes 200000-${content.length - 1}/${content.length}`, content.subarray(200000));
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({
      name: 'r.bin',
      size: String(content.length),
      contentType: 'application/x-test',
    });
    expect((await bucket.file('r.bin').download())[0].equals(content)).toBe(true);
    // A finished session answers its object again.
    expect((await put('bytes */*', Buffer.alloc(0))).status).toBe(200);
  });

  it('refuses an upload whose checksum does not match, and keeps the previous object', async () => {
    await bucket.file('checked.txt').save('good', { resumable: false });
    const response = await fetch(
      `${standin.url}/upload/storage/v1/b/standin-bucket/o?uploadType=media&name=checked.txt`,
      {
        method: 'POST',
        headers: { 'x-goog-hash': `md5=${md5Base64(Buffer.from('other'))}` },
        body: 'bad!',
      },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { errors: [{ reason: 'invalid' }] } });
    expect((await bucket.file('checked.txt').download())[0].toString()).toBe('good');
  });

  it('lists with prefix, delimiter, pages and partial responses (fields)', async () => {
    for (const name of ['l/a/1', 'l/a/2', 'l/b/1', 'l/c', 'l/d', 'm/x']) await bucket.file(name).save(name);
    const [files, , response] = await bucket.getFiles({ prefix: 'l/', delimiter: '/', autoPaginate: false });
    expect(files.map((file) => file.name)).toEqual(['l/c', 'l/d']);
    expect((response as { prefixes: string[] }).prefixes).toEqual(['l/a/', 'l/b/']);
    const pages: string[][] = [];
    let query: object | null = { prefix: 'l/', maxResults: 2, autoPaginate: false };
    while (query) {
      const [page, next]: [{ name: string }[], object | null] = (await bucket.getFiles(query)) as never;
      pages.push(page.map((file) => file.name));
      query = next;
    }
    expect(pages).toEqual([['l/a/1', 'l/a/2'], ['l/b/1', 'l/c'], ['l/d']]);
    const partial = await fetch(`${standin.url}/storage/v1/b/standin-bucket/o?prefix=l/a/&fields=items(name,size)`);
    expect(await partial.json()).toEqual({
      items: [
        { name: 'l/a/1', size: '5' },
        { name: 'l/a/2', size: '5' },
      ],
    });
  });

  it('reads media whole and by range, with the hashes the client validates', async () => {
    await bucket.file('media.txt').save('0123456789', { resumable: false });
    expect((await bucket.file('media.txt').download({ start: 2, end: 4 }))[0].toString()).toBe('234');
    const response = await fetch(`${standin.url}/storage/v1/b/standin-bucket/o/media.txt?alt=media`);
    expect(response.headers.get('x-goog-hash')).toBe(
      `crc32c=${crc32cBase64(Buffer.from('0123456789'))},md5=${md5Base64(Buffer.from('0123456789'))}`,
    );
  });

  it('answers 404 in Google error shape for a missing object or bucket, and 409 for a bucket that exists or is not empty', async () => {
    await expect(bucket.file('nope').download()).rejects.toMatchObject({ code: 404 });
    await expect(new Storage({ apiEndpoint: standin.url }).bucket('no-bucket').getFiles()).rejects.toMatchObject({
      code: 404,
    });
    const response = await fetch(`${standin.url}/storage/v1/b/standin-bucket/o/nope`);
    expect(await response.json()).toMatchObject({
      error: { code: 404, errors: [{ reason: 'notFound', domain: 'global' }] },
    });
    await expect(
      new Storage({ apiEndpoint: standin.url, projectId: 'p' }).createBucket('standin-bucket'),
    ).rejects.toMatchObject({ code: 409 });
    await expect(bucket.delete()).rejects.toMatchObject({ code: 409 });
  });

  it('answers 501, loudly, to calls it does not implement', async () => {
    log.length = 0;
    await bucket.file('x.txt').save('x', { resumable: false });
    await expect(bucket.file('x.txt').setMetadata({ metadata: { a: 'b' } })).rejects.toMatchObject({ code: 501 });
    await expect(bucket.file('x.txt').copy('y.txt')).rejects.toMatchObject({ code: 501 });
    await expect(bucket.getFiles({ versions: true })).rejects.toMatchObject({ code: 501 });
    const unknown = await fetch(`${standin.url}/storage/v1/b/standin-bucket/o?matchGlob=*.txt`);
    expect(unknown.status).toBe(501);
    expect(await unknown.json()).toMatchObject({ error: { message: expect.stringContaining('"matchGlob"') } });
    expect(log.map((entry) => entry.severity)).toEqual(['WARNING', 'WARNING', 'WARNING', 'WARNING']);
    expect(log[0]).toMatchObject({ standin: 'gcs', method: 'PATCH' });
  });
});
