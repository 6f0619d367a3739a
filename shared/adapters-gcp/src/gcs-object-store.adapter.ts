import { Storage, type Bucket, type File } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  PermanentError,
  PlatformError,
  SharedErrors,
  TransientError,
  errorMessage,
  type ListedObject,
  type ObjectBody,
  type ObjectMeta,
  type ObjectStore,
} from '@mlops/kernel';

/** Options of {@link GcsObjectStore}. */
export interface GcsObjectStoreOptions {
  bucket: string;
  /** Folder inside the bucket that holds the lake (no leading or trailing `/`); keys are relative to it. */
  prefix?: string;
  projectId?: string;
  /**
   * Address of a GCS emulator or stand-in, `host:port` or a URL; unset for Google Cloud. Note
   * that the client library also reads `STORAGE_EMULATOR_HOST` from the environment by itself, as a
   * base URL, so when that variable is set it must include `http://`.
   */
  emulatorHost?: string;
  /** Objects of at least this many bytes go as resumable uploads; smaller ones in one request. Default 8 MiB. */
  resumableThresholdBytes?: number;
  /** Bytes per request of a resumable upload, a multiple of 256 KiB. Default 8 MiB. */
  resumableChunkBytes?: number;
  /** Attempts of a replace that keeps losing the race to concurrent writers (412). Default 5. */
  replaceAttempts?: number;
}

// The same keys the filesystem lake accepts, so a key that works locally works here.
const KEY = /^(?!\/)(?!.*\/\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._=\-/]+$/;
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const SHA256_METADATA = 'sha256';
const MIB = 1024 * 1024;
// GCS accepts non-final chunks in multiples of 256 KiB only.
const CHUNK_UNIT = 256 * 1024;
const LIST_FIELDS = 'items(name,size,updated,contentType,metadata),nextPageToken';

interface GcsMetadata {
  name?: string;
  size?: string | number;
  updated?: string;
  contentType?: string;
  generation?: string | number;
  metadata?: Record<string, string | number | boolean | null> | null;
}

function httpCode(error: unknown): number | undefined {
  const failure = error as { code?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  for (const code of [failure?.code, failure?.status, failure?.response?.status])
    if (typeof code === 'number') return code;
  return undefined;
}

/** A GCS failure as a platform error: 429, 5xx and network errors may pass; other 4xx will not. */
function storeError(error: unknown, action: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const code = httpCode(error);
  const message = `GCS ${action} failed: ${errorMessage(error)}`;
  if (code === undefined || code === 408 || code === 429 || code >= 500)
    return new TransientError('STORE.UNAVAILABLE', message, { cause: error, details: { httpStatus: code } });
  return new PermanentError('STORE.REJECTED', message, { cause: error, details: { httpStatus: code } });
}

/** Content to upload: in memory, or a local file (spooled or given). */
type Upload = { content: Buffer } | { path: string; bytes: number };

/**
 * The lake on Google Cloud Storage. A GCS object appears only when its upload completes, so a
 * reader sees the old or the new object. Every write carries a generation precondition
 * (`ifGenerationMatch`): a replace names the generation it read (0 when absent) and, on 412 (a
 * concurrent writer won), reads again and retries, so the last writer wins whole; a create names
 * generation 0 and leaves an existing object alone. The precondition also makes each upload
 * idempotent, which is what lets the client library retry it after a transient failure (it never
 * retries an unconditional upload). Objects from `resumableThresholdBytes` up go as chunked
 * resumable uploads (a failed chunk is resent, not the whole object); smaller ones in one request.
 * Each object carries the content's SHA-256 in custom metadata (`sha256`); content from a stream
 * is spooled to a temporary file while it is hashed, because the hash must travel with the upload.
 */
export class GcsObjectStore implements ObjectStore {
  readonly bucketName: string;
  readonly prefix: string;
  private readonly bucket: Bucket;
  private readonly resumableThreshold: number;
  private readonly chunkBytes: number;
  private readonly replaceAttempts: number;

  constructor(options: GcsObjectStoreOptions) {
    if (!BUCKET.test(options.bucket))
      throw new PermanentError('STORE.BAD_BUCKET', `bucket name "${options.bucket}" is not a valid GCS bucket name`);
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix && !KEY.test(prefix))
      throw new PermanentError(
        'STORE.BAD_KEY',
        `lake prefix "${prefix}" must be a relative path of letters, digits and ._=-/`,
      );
    const chunkBytes = options.resumableChunkBytes ?? 8 * MIB;
    if (!Number.isInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes % CHUNK_UNIT !== 0)
      throw new PermanentError('STORE.BAD_OPTION', `resumableChunkBytes ${chunkBytes} is not a multiple of 256 KiB`);
    this.bucketName = options.bucket;
    this.prefix = prefix;
    this.resumableThreshold = options.resumableThresholdBytes ?? 8 * MIB;
    this.chunkBytes = chunkBytes;
    this.replaceAttempts = Math.max(1, options.replaceAttempts ?? 5);
    // STORAGE_EMULATOR_HOST is sometimes written with the JSON API path; the client adds that itself.
    const host = options.emulatorHost?.replace(/\/storage\/v1\/?$/, '').replace(/\/+$/, '');
    const endpoint = host ? (/^https?:\/\//.test(host) ? host : `http://${host}`) : undefined;
    const storage = new Storage({
      ...(options.projectId ? { projectId: options.projectId } : {}),
      // A custom endpoint is used without authentication (useAuthWithCustomEndpoint defaults to false).
      ...(endpoint ? { apiEndpoint: endpoint, projectId: options.projectId ?? 'mlops-local' } : {}),
    });
    this.bucket = storage.bucket(options.bucket);
  }

  /** A store from a `gs://bucket[/prefix]` URI, as configured by `MLOPS_LAKE`. */
  static fromUri(uri: string, options: Omit<GcsObjectStoreOptions, 'bucket' | 'prefix'> = {}): GcsObjectStore {
    const match = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!match) throw new PermanentError('STORE.BAD_URI', `"${uri}" is not a gs://bucket[/prefix] URI`);
    return new GcsObjectStore({ ...options, bucket: match[1]!, prefix: match[2] ?? '' });
  }

  private nameOf(key: string): string {
    if (!KEY.test(key))
      throw new PermanentError(
        'STORE.BAD_KEY',
        `object key "${key}" must be a relative path of letters, digits and ._=-/ without . or .. segments`,
      );
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private keyOf(name: string): string {
    return this.prefix ? name.slice(this.prefix.length + 1) : name;
  }

  private file(key: string): File {
    return this.bucket.file(this.nameOf(key));
  }

  private listedOf(key: string, metadata: GcsMetadata): Omit<ListedObject, 'sha256'> {
    return {
      key,
      bytes: Number(metadata.size ?? 0),
      updatedAt: new Date(metadata.updated ?? Date.now()),
      ...(metadata.contentType ? { contentType: metadata.contentType } : {}),
    };
  }

  private metaOf(key: string, metadata: GcsMetadata, sha256: string): ObjectMeta {
    return { ...this.listedOf(key, metadata), sha256 };
  }

  async put(key: string, body: ObjectBody, options: { contentType?: string } = {}): Promise<ObjectMeta> {
    this.nameOf(key);
    return this.withUpload(body, (upload, sha256) => this.replace(key, upload, sha256, options.contentType));
  }

  async putFile(key: string, path: string, options: { contentType?: string } = {}): Promise<ObjectMeta> {
    this.nameOf(key);
    const { sha256, bytes } = await hashFile(path);
    return this.replace(key, { path, bytes }, sha256, options.contentType);
  }

  async putIfAbsent(
    key: string,
    body: ObjectBody,
    options: { contentType?: string } = {},
  ): Promise<ObjectMeta | undefined> {
    this.nameOf(key);
    return this.withUpload(body, async (upload, sha256) => {
      try {
        return await this.upload(key, upload, sha256, options.contentType, 0);
      } catch (error) {
        if (httpCode(error) === 412) return undefined;
        throw storeError(error, `creating ${key}`);
      }
    });
  }

  /** Hand the body to `send` in memory (bytes, strings) or as a spooled file (streams). */
  private async withUpload<T>(body: ObjectBody, send: (upload: Upload, sha256: string) => Promise<T>): Promise<T> {
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const content = Buffer.from(body);
      return send({ content }, createHash('sha256').update(content).digest('hex'));
    }
    // A stream: its hash is known only at its end, and the hash must go with the upload.
    const dir = await mkdtemp(join(tmpdir(), 'mlops-gcs-'));
    const spool = join(dir, randomBytes(6).toString('hex'));
    try {
      const hash = createHash('sha256');
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback(null, chunk);
        },
      });
      await pipeline(Readable.from(body), meter, createWriteStream(spool));
      return await send({ path: spool, bytes: (await stat(spool)).size }, hash.digest('hex'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Replace under a generation precondition; a lost race (412) reads the new generation and retries. */
  private async replace(key: string, upload: Upload, sha256: string, contentType: string | undefined) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.upload(key, upload, sha256, contentType, await this.generationOf(key));
      } catch (error) {
        if (httpCode(error) !== 412 || attempt >= this.replaceAttempts) throw storeError(error, `writing ${key}`);
      }
    }
  }

  /** The live generation of an object, 0 when there is none. */
  private async generationOf(key: string): Promise<number> {
    try {
      const [metadata] = (await this.file(key).getMetadata({ fields: 'generation' })) as unknown as [GcsMetadata];
      return Number(metadata.generation ?? 0);
    } catch (error) {
      if (httpCode(error) === 404) return 0;
      throw storeError(error, `reading the generation of ${key}`);
    }
  }

  private async upload(
    key: string,
    upload: Upload,
    sha256: string,
    contentType: string | undefined,
    ifGenerationMatch: number,
  ): Promise<ObjectMeta> {
    const bytes = 'content' in upload ? upload.content.length : upload.bytes;
    const resumable = bytes >= this.resumableThreshold;
    const options = {
      resumable,
      ...(resumable ? { chunkSize: this.chunkBytes } : {}),
      preconditionOpts: { ifGenerationMatch },
      metadata: { contentType: contentType ?? 'application/octet-stream', metadata: { [SHA256_METADATA]: sha256 } },
    };
    // Both calls retry a failed conditional upload from its source (the buffer, or the file again).
    let file = this.file(key);
    if ('content' in upload) await file.save(upload.content, options);
    else [file] = await this.bucket.upload(upload.path, { ...options, destination: this.nameOf(key) });
    const metadata = file.metadata as GcsMetadata | undefined;
    if (metadata?.size !== undefined && metadata.updated !== undefined) return this.metaOf(key, metadata, sha256);
    return (await this.head(key)) ?? { key, bytes, sha256, updatedAt: new Date() };
  }

  async get(key: string): Promise<Buffer> {
    try {
      const [content] = await this.file(key).download();
      return content;
    } catch (error) {
      if (httpCode(error) === 404) throw SharedErrors.notFound(`object ${key}`);
      throw storeError(error, `reading ${key}`);
    }
  }

  stream(key: string): Readable {
    const source = this.file(key).createReadStream();
    const out = new PassThrough();
    source.on('error', (error: unknown) =>
      out.destroy(
        httpCode(error) === 404 ? SharedErrors.notFound(`object ${key}`) : storeError(error, `reading ${key}`),
      ),
    );
    return source.pipe(out);
  }

  async head(key: string): Promise<ObjectMeta | undefined> {
    const file = this.file(key);
    let metadata: GcsMetadata;
    try {
      [metadata] = (await file.getMetadata()) as unknown as [GcsMetadata];
    } catch (error) {
      if (httpCode(error) === 404) return undefined;
      throw storeError(error, `reading metadata of ${key}`);
    }
    return this.metaOf(key, metadata, recordedSha256(metadata) ?? (await this.hashContent(key, file)));
  }

  /** The hash of an object written by something else, which carries none: read once, by head() only. */
  private async hashContent(key: string, file: File): Promise<string> {
    const hash = createHash('sha256');
    try {
      for await (const chunk of file.createReadStream()) hash.update(chunk as Buffer);
    } catch (error) {
      throw storeError(error, `hashing ${key}`);
    }
    return hash.digest('hex');
  }

  async list(prefix: string): Promise<ListedObject[]> {
    const fullPrefix = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    let items: GcsMetadata[];
    try {
      // With `fields`, the client returns the listed resources as they are (no File objects).
      const listed = await this.bucket.getFiles({ prefix: fullPrefix, autoPaginate: true, fields: LIST_FIELDS });
      items = listed[0] as unknown as GcsMetadata[];
    } catch (error) {
      throw storeError(error, `listing ${prefix}`);
    }
    return items
      .filter((item) => item.name !== undefined && !item.name.endsWith('/')) // folder placeholders some tools create
      .map((item): ListedObject => {
        const sha256 = recordedSha256(item);
        return { ...this.listedOf(this.keyOf(item.name!), item), ...(sha256 ? { sha256 } : {}) };
      })
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const key of new Set(keys)) {
      try {
        await this.file(key).delete();
        deleted += 1;
      } catch (error) {
        if (httpCode(error) !== 404) throw storeError(error, `deleting ${key}`);
      }
    }
    return deleted;
  }

  uri(key: string): string {
    return `gs://${this.bucketName}/${this.nameOf(key)}`;
  }
}

/** The SHA-256 this store recorded at write time, if the object carries one. */
function recordedSha256(metadata: GcsMetadata): string | undefined {
  const recorded = metadata.metadata?.[SHA256_METADATA];
  return typeof recorded === 'string' && /^[0-9a-f]{64}$/.test(recorded) ? recorded : undefined;
}

async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
