import type { Readable } from 'node:stream';

/** What the store knows of an object. */
export interface ObjectMeta {
  key: string;
  bytes: number;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
  updatedAt: Date;
  contentType?: string;
}

/**
 * What a listing knows of an object. The SHA-256 is there when the store recorded it at write
 * time (always for objects this store wrote); for an object written by something else it is
 * absent, because a listing never reads content. head() hashes such an object when asked.
 */
export interface ListedObject extends Omit<ObjectMeta, 'sha256'> {
  sha256?: string;
}

/** Content to store. */
export type ObjectBody = string | Uint8Array | AsyncIterable<Uint8Array> | Readable;

/**
 * The lake (GCS in the cloud, a folder locally). Keys are `/`-separated paths such as
 * `bronze/sales/dt=2026-01-31/part-00000.parquet`. Every put is an atomic replace: a reader sees the
 * old object or the new one, never half of one.
 */
export interface ObjectStore {
  /** Atomically create or replace an object. */
  put(key: string, body: ObjectBody, options?: { contentType?: string }): Promise<ObjectMeta>;
  /** Atomically create or replace an object from a local file (e.g. one an engine wrote). */
  putFile(key: string, path: string, options?: { contentType?: string }): Promise<ObjectMeta>;
  /**
   * Create an object only if none exists under the key, atomically (no check-then-write race):
   * its metadata, or undefined when an object was already there (left untouched).
   */
  putIfAbsent(key: string, body: ObjectBody, options?: { contentType?: string }): Promise<ObjectMeta | undefined>;
  /** The whole object; a permanent STORE.NOT_FOUND error when absent. */
  get(key: string): Promise<Buffer>;
  /** The object as a stream. */
  stream(key: string): Readable;
  /** Metadata with the content hash, or undefined when absent. */
  head(key: string): Promise<ObjectMeta | undefined>;
  /** Objects whose key starts with the prefix, in key order, without reading their content. */
  list(prefix: string): Promise<ListedObject[]>;
  /** Delete objects; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>;
  /** Where an engine can read the object directly: an absolute file path locally, `gs://bucket/key` on GCS. */
  uri(key: string): string;
}
