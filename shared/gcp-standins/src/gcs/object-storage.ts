import { HttpError, NotImplementedError } from '../http/server.js';
import { crc32cBase64, md5Base64 } from './checksums.js';

/** A live object version. */
export interface StoredObject {
  bucket: string;
  name: string;
  /** Microseconds since the epoch at creation, as GCS assigns them; strictly increasing here. */
  generation: bigint;
  metageneration: number;
  data: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  cacheControl?: string;
  md5Hash: string;
  crc32c: string;
  timeCreated: Date;
}

/** A bucket and its live objects (no versioning: a replace drops the old generation). */
export interface StoredBucket {
  name: string;
  projectId: string;
  location: string;
  timeCreated: Date;
  metageneration: number;
  objects: Map<string, StoredObject>;
}

/** The writable fields of an object resource that the stand-in keeps. */
export interface ObjectWrite {
  contentType?: string;
  metadata?: Record<string, string>;
  cacheControl?: string;
}

/** `ifGenerationMatch` and friends, as sent in the query string. */
export interface Preconditions {
  ifGenerationMatch?: bigint;
  ifGenerationNotMatch?: bigint;
  ifMetagenerationMatch?: bigint;
  ifMetagenerationNotMatch?: bigint;
}

const PRECONDITIONS = [
  'ifGenerationMatch',
  'ifGenerationNotMatch',
  'ifMetagenerationMatch',
  'ifMetagenerationNotMatch',
];

/** The precondition names a request may carry (for the stand-in's parameter allow-lists). */
export const PRECONDITION_PARAMS: readonly string[] = PRECONDITIONS;

/** Read the preconditions from a query string; 400 when one is not an integer. */
export function preconditionsOf(params: URLSearchParams): Preconditions {
  const out: Preconditions = {};
  for (const name of PRECONDITIONS) {
    const value = params.get(name);
    if (value === null) continue;
    if (!/^\d+$/.test(value)) throw new HttpError(400, 'invalid', `Invalid argument: ${name}=${value}`);
    out[name as keyof Preconditions] = BigInt(value);
  }
  return out;
}

/**
 * Whether an operation may proceed on the current object (undefined when absent). `0` for
 * ifGenerationMatch means "must not exist", for ifGenerationNotMatch "must exist". A failed
 * condition is 412 conditionNotMet, or 304 for the NotMatch conditions of a read.
 */
export function checkPreconditions(current: StoredObject | undefined, conditions: Preconditions, read = false): void {
  const failed = (notMatch: boolean) => {
    if (read && notMatch) throw new HttpError(304, 'notModified', 'Not Modified');
    throw new HttpError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.', {
      locationType: 'header',
      location: 'If-Match',
    });
  };
  const generation = current?.generation ?? 0n;
  if (conditions.ifGenerationMatch !== undefined && conditions.ifGenerationMatch !== generation) failed(false);
  if (conditions.ifGenerationNotMatch !== undefined && conditions.ifGenerationNotMatch === generation) failed(true);
  if (conditions.ifMetagenerationMatch !== undefined) {
    if (!current || BigInt(current.metageneration) !== conditions.ifMetagenerationMatch) failed(false);
  }
  if (conditions.ifMetagenerationNotMatch !== undefined) {
    if (!current || BigInt(current.metageneration) === conditions.ifMetagenerationNotMatch) failed(true);
  }
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * The state behind the GCS stand-in: buckets and objects in memory. Other stand-ins (BigQuery's
 * load jobs) read `gs://` URIs through it.
 */
export class GcsStorage {
  readonly buckets = new Map<string, StoredBucket>();
  private lastGeneration = 0n;

  private nextGeneration(): bigint {
    const now = BigInt(Date.now()) * 1000n;
    this.lastGeneration = now > this.lastGeneration ? now : this.lastGeneration + 1n;
    return this.lastGeneration;
  }

  createBucket(name: string, projectId: string, location = 'US'): StoredBucket {
    if (!BUCKET_NAME.test(name)) throw new HttpError(400, 'invalid', `Invalid bucket name: '${name}'`);
    if (this.buckets.has(name))
      throw new HttpError(
        409,
        'conflict',
        'Your previous request to create the named bucket succeeded and you already own it.',
      );
    const bucket: StoredBucket = {
      name,
      projectId,
      location,
      timeCreated: new Date(),
      metageneration: 1,
      objects: new Map(),
    };
    this.buckets.set(name, bucket);
    return bucket;
  }

  bucket(name: string): StoredBucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new HttpError(404, 'notFound', 'The specified bucket does not exist.');
    return bucket;
  }

  deleteBucket(name: string): void {
    const bucket = this.bucket(name);
    if (bucket.objects.size > 0) throw new HttpError(409, 'conflict', 'The bucket you tried to delete is not empty.');
    this.buckets.delete(name);
  }

  /** The live object, or 404. */
  object(bucketName: string, name: string): StoredObject {
    const found = this.bucket(bucketName).objects.get(name);
    if (!found) throw new HttpError(404, 'notFound', `No such object: ${bucketName}/${name}`);
    return found;
  }

  /** The live object, or undefined (the bucket must exist). */
  find(bucketName: string, name: string): StoredObject | undefined {
    return this.bucket(bucketName).objects.get(name);
  }

  /**
   * Write a new generation atomically: the preconditions are checked against the live object in
   * the same step that replaces it, so two writers racing on `ifGenerationMatch` cannot both win.
   * Checksums the client sent (`md5Hash`/`crc32c` fields or `X-Goog-Hash`, base64) must match.
   */
  write(
    bucketName: string,
    name: string,
    data: Buffer,
    fields: ObjectWrite,
    conditions: Preconditions,
    claimed: { md5?: unknown; crc32c?: unknown } = {},
  ): StoredObject {
    if (name.length === 0 || Buffer.byteLength(name) > 1024 || /[\r\n]/.test(name))
      throw new HttpError(400, 'invalid', `Invalid object name: '${name}'`);
    const bucket = this.bucket(bucketName);
    const md5Hash = md5Base64(data);
    const crc32c = crc32cBase64(data);
    if (claimed.md5 !== undefined && claimed.md5 !== md5Hash)
      throw new HttpError(
        400,
        'invalid',
        `Provided MD5 hash "${String(claimed.md5)}" doesn't match calculated MD5 hash`,
      );
    if (claimed.crc32c !== undefined && claimed.crc32c !== crc32c)
      throw new HttpError(
        400,
        'invalid',
        `Provided CRC32C "${String(claimed.crc32c)}" doesn't match calculated CRC32C`,
      );
    checkPreconditions(bucket.objects.get(name), conditions);
    const object: StoredObject = {
      bucket: bucketName,
      name,
      generation: this.nextGeneration(),
      metageneration: 1,
      data,
      contentType: fields.contentType ?? 'application/octet-stream',
      metadata: fields.metadata ?? {},
      ...(fields.cacheControl ? { cacheControl: fields.cacheControl } : {}),
      md5Hash,
      crc32c,
      timeCreated: new Date(),
    };
    bucket.objects.set(name, object);
    return object;
  }

  delete(bucketName: string, name: string, conditions: Preconditions): void {
    const current = this.object(bucketName, name);
    checkPreconditions(current, conditions);
    this.bucket(bucketName).objects.delete(name);
  }

  /** Live objects whose name starts with the prefix, in name order (byte order, as GCS lists). */
  list(bucketName: string, prefix = ''): StoredObject[] {
    return [...this.bucket(bucketName).objects.values()]
      .filter((object) => object.name.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  }

  /**
   * The objects a `gs://bucket/path` URI names: one object, or with a single `*` wildcard every
   * object whose name matches (the wildcard spans `/`, as in BigQuery load URIs).
   */
  resolveUri(uri: string): StoredObject[] {
    const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!match) throw new HttpError(400, 'invalid', `Invalid source URI: ${uri}`);
    const [, bucketName, path] = match as unknown as [string, string, string];
    const stars = path.split('*').length - 1;
    if (stars === 0) return [this.object(bucketName, path)];
    if (stars > 1) throw new NotImplementedError(`more than one wildcard in ${uri}`);
    const [head, tail] = path.split('*') as [string, string];
    return this.list(bucketName, head).filter(
      (object) => object.name.length >= head.length + tail.length && object.name.endsWith(tail),
    );
  }
}
