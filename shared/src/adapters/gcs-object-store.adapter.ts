import { Storage, type Bucket, type File } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PermanentError, PlatformError, SharedErrors, TransientError, errorMessage } from '../errors.js';
import type { ObjectBody, ObjectMeta, ObjectStore } from '../ports/object-store.port.js';

/** Options of {@link GcsObjectStore}. */
export interface GcsObjectStoreOptions {
  bucket: string;
  /** Folder inside the bucket that holds the lake (no leading or trailing `/`); keys are relative to it. */
  prefix?: string;
  projectId?: string;
  /**
   * Address of a GCS emulator (fake-gcs-server), `host:port` or a URL; unset for Google Cloud. Note
   * that the client library also reads `STORAGE_EMULATOR_HOST` from the environment by itself, as a
   * base URL, so when that variable is set it must include `http://`.
   */
  emulatorHost?: string;
}

// The same keys the filesystem lake accepts, so a key that works locally works here.
const KEY = /^(?!\/)(?!.*\/\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._=\-/]+$/;
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const SHA256_METADATA = 'sha256';

interface GcsMetadata {
  name?: string;
  size?: string | number;
  updated?: string;
  contentType?: string;
  metadata?: Record<string, string | number | boolean | null> | null;
}

function httpCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
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

/**
 * The lake on Google Cloud Storage (or fake-gcs-server). A GCS object write is atomic by nature:
 * the object appears only when its upload completes, so a reader sees the old or the new one. Each
 * put is a single-request (non-resumable) upload carrying the content's SHA-256 in custom metadata
 * (`sha256`); content from a stream is spooled to a temporary file while it is hashed, because the
 * hash must travel with the upload. `uri()` gives `gs://bucket/key` for engines that read GCS.
 */
export class GcsObjectStore implements ObjectStore {
  readonly bucketName: string;
  readonly prefix: string;
  private readonly bucket: Bucket;

  constructor(options: GcsObjectStoreOptions) {
    if (!BUCKET.test(options.bucket))
      throw new PermanentError('STORE.BAD_BUCKET', `bucket name "${options.bucket}" is not a valid GCS bucket name`);
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix && !KEY.test(prefix))
      throw new PermanentError(
        'STORE.BAD_KEY',
        `lake prefix "${prefix}" must be a relative path of letters, digits and ._=-/`,
      );
    this.bucketName = options.bucket;
    this.prefix = prefix;
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

  private metaOf(key: string, metadata: GcsMetadata, sha256: string): ObjectMeta {
    return {
      key,
      bytes: Number(metadata.size ?? 0),
      sha256,
      updatedAt: new Date(metadata.updated ?? Date.now()),
      ...(metadata.contentType ? { contentType: metadata.contentType } : {}),
    };
  }

  private uploadMetadata(sha256: string, contentType: string | undefined) {
    return { contentType: contentType ?? 'application/octet-stream', metadata: { [SHA256_METADATA]: sha256 } };
  }

  async put(key: string, body: ObjectBody, options: { contentType?: string } = {}): Promise<ObjectMeta> {
    const file = this.file(key);
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const content = Buffer.from(body);
      const sha256 = createHash('sha256').update(content).digest('hex');
      try {
        await file.save(content, { resumable: false, metadata: this.uploadMetadata(sha256, options.contentType) });
      } catch (error) {
        throw storeError(error, `writing ${key}`);
      }
      return this.writtenMeta(key, file, sha256);
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
      return await this.upload(key, spool, hash.digest('hex'), options.contentType);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async putFile(key: string, path: string, options: { contentType?: string } = {}): Promise<ObjectMeta> {
    this.nameOf(key);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return this.upload(key, path, hash.digest('hex'), options.contentType);
  }

  private async upload(
    key: string,
    path: string,
    sha256: string,
    contentType: string | undefined,
  ): Promise<ObjectMeta> {
    let file: File;
    try {
      [file] = await this.bucket.upload(path, {
        destination: this.nameOf(key),
        resumable: false,
        metadata: this.uploadMetadata(sha256, contentType),
      });
    } catch (error) {
      throw storeError(error, `writing ${key}`);
    }
    return this.writtenMeta(key, file, sha256);
  }

  /** The upload's answer carries the new object's metadata; ask again only if it did not. */
  private async writtenMeta(key: string, file: File, sha256: string): Promise<ObjectMeta> {
    const metadata = file.metadata as GcsMetadata | undefined;
    if (metadata?.size !== undefined && metadata.updated !== undefined) return this.metaOf(key, metadata, sha256);
    return (await this.head(key)) ?? { key, bytes: 0, sha256, updatedAt: new Date() };
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
    return this.metaOf(key, metadata, await this.sha256Of(key, file, metadata));
  }

  /** The recorded hash, or (for an object written by something else) the hash of its content. */
  private async sha256Of(key: string, file: File, metadata: GcsMetadata): Promise<string> {
    const recorded = metadata.metadata?.[SHA256_METADATA];
    if (typeof recorded === 'string' && /^[0-9a-f]{64}$/.test(recorded)) return recorded;
    const hash = createHash('sha256');
    try {
      for await (const chunk of file.createReadStream()) hash.update(chunk as Buffer);
    } catch (error) {
      throw storeError(error, `hashing ${key}`);
    }
    return hash.digest('hex');
  }

  async list(prefix: string): Promise<ObjectMeta[]> {
    const fullPrefix = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    let files: File[];
    try {
      [files] = await this.bucket.getFiles({ prefix: fullPrefix, autoPaginate: true });
    } catch (error) {
      throw storeError(error, `listing ${prefix}`);
    }
    const metas = await Promise.all(
      files
        .filter((file) => !file.name.endsWith('/')) // folder placeholders some tools create
        .map(async (file) => {
          const key = this.keyOf(file.name);
          const metadata = file.metadata as GcsMetadata;
          return this.metaOf(key, metadata, await this.sha256Of(key, file, metadata));
        }),
    );
    return metas.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
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
