import { HttpError } from '../http/server.js';
import type { StoredBucket, StoredObject } from './object-storage.js';

/** The `storage#object` resource of the JSON API (string-typed numbers, as Google sends them). */
export function objectResource(object: StoredObject, baseUrl: string): Record<string, unknown> {
  const path = `b/${encodeURIComponent(object.bucket)}/o/${encodeURIComponent(object.name)}`;
  const time = object.timeCreated.toISOString();
  return {
    kind: 'storage#object',
    id: `${object.bucket}/${object.name}/${object.generation}`,
    selfLink: `${baseUrl}/storage/v1/${path}`,
    mediaLink: `${baseUrl}/download/storage/v1/${path}?generation=${object.generation}&alt=media`,
    name: object.name,
    bucket: object.bucket,
    generation: String(object.generation),
    metageneration: String(object.metageneration),
    contentType: object.contentType,
    storageClass: 'STANDARD',
    size: String(object.data.length),
    md5Hash: object.md5Hash,
    crc32c: object.crc32c,
    etag: etagOf(object),
    timeCreated: time,
    updated: time,
    timeStorageClassUpdated: time,
    timeFinalized: time,
    ...(object.cacheControl ? { cacheControl: object.cacheControl } : {}),
    ...(Object.keys(object.metadata).length > 0 ? { metadata: object.metadata } : {}),
  };
}

export function etagOf(object: StoredObject): string {
  return Buffer.from(`${object.generation}/${object.metageneration}`).toString('base64');
}

/** The `storage#bucket` resource. */
export function bucketResource(bucket: StoredBucket, baseUrl: string): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    id: bucket.name,
    selfLink: `${baseUrl}/storage/v1/b/${encodeURIComponent(bucket.name)}`,
    projectNumber: '0',
    name: bucket.name,
    timeCreated: bucket.timeCreated.toISOString(),
    updated: bucket.timeCreated.toISOString(),
    metageneration: String(bucket.metageneration),
    location: bucket.location,
    locationType: 'multi-region',
    storageClass: 'STANDARD',
    etag: Buffer.from(`${bucket.name}/${bucket.metageneration}`).toString('base64'),
  };
}

/** The parts of a `multipart/related` body: headers (lower-case) and content. */
export function parseMultipart(body: Buffer, contentType: string): { headers: Record<string, string>; body: Buffer }[] {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!match) throw new HttpError(400, 'badContent', 'multipart upload without a boundary');
  const delimiter = Buffer.from(`--${(match[1] ?? match[2])!.trim()}`);
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new HttpError(400, 'badContent', 'multipart body has no boundary');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') break;
    if (body.subarray(at, at + 2).toString() === '\r\n') at += 2;
    const next = body.indexOf(delimiter, at);
    if (next < 0) throw new HttpError(400, 'badContent', 'multipart body is not terminated');
    // The part ends with the CRLF that precedes the next delimiter.
    const part = body.subarray(at, next >= 2 && body.subarray(next - 2, next).toString() === '\r\n' ? next - 2 : next);
    const split = part.indexOf('\r\n\r\n');
    const head = split < 0 ? '' : part.subarray(0, split).toString('utf8');
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: split < 0 ? part : part.subarray(split + 4) });
    at = next;
  }
  return parts;
}
