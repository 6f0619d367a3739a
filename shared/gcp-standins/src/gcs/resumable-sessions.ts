import { randomBytes } from 'node:crypto';
import { HttpError } from '../http/server.js';
import type { ObjectWrite, Preconditions } from './object-storage.js';

/** Bytes of a non-final chunk are persisted in multiples of this (GCS's 256 KiB granularity). */
export const CHUNK_GRANULARITY = 256 * 1024;

/** An open resumable upload. */
export interface UploadSession {
  id: string;
  bucket: string;
  name: string;
  fields: ObjectWrite;
  conditions: Preconditions;
  /** Declared by `X-Upload-Content-Length` at initiation, or by a `Content-Range` total. */
  totalSize?: number;
  /** Persisted bytes, in order. */
  chunks: Buffer[];
  persisted: number;
  /** The object resource once the upload finished (a later status query answers it again). */
  finished?: Record<string, unknown>;
}

/** What a `Content-Range` header of a session PUT says. */
export type ContentRange =
  | { kind: 'status'; total?: number } // bytes */* or bytes */N
  | { kind: 'chunk'; first: number; last: number; total?: number } // bytes a-b/N or a-b/*
  | { kind: 'rest'; first: number; total?: number }; // bytes a-*/N or a-*/*: the body is the rest

/** Parse `Content-Range` of a session PUT; 400 on anything else. */
export function parseContentRange(header: string | undefined, bodyLength: number): ContentRange {
  if (header === undefined) {
    // A PUT without Content-Range uploads the whole object in one request.
    return { kind: 'rest', first: 0, total: bodyLength };
  }
  const match = /^bytes (\*|(\d+)-(\d+|\*))\/(\*|\d+)$/.exec(header.trim());
  if (!match) throw new HttpError(400, 'badRequest', `Invalid Content-Range: ${header}`);
  const total = match[4] === '*' ? undefined : Number(match[4]);
  if (match[1] === '*') return { kind: 'status', ...(total === undefined ? {} : { total }) };
  const first = Number(match[2]);
  if (match[3] === '*') return { kind: 'rest', first, ...(total === undefined ? {} : { total }) };
  const last = Number(match[3]);
  if (last < first) throw new HttpError(400, 'badRequest', `Invalid Content-Range: ${header}`);
  return { kind: 'chunk', first, last, ...(total === undefined ? {} : { total }) };
}

/** Open sessions, by upload id. */
export class UploadSessions {
  private readonly sessions = new Map<string, UploadSession>();

  open(
    bucket: string,
    name: string,
    fields: ObjectWrite,
    conditions: Preconditions,
    totalSize?: number,
  ): UploadSession {
    const session: UploadSession = {
      id: randomBytes(18).toString('base64url'),
      bucket,
      name,
      fields,
      conditions,
      ...(totalSize === undefined ? {} : { totalSize }),
      chunks: [],
      persisted: 0,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string): UploadSession {
    const session = this.sessions.get(id);
    if (!session) throw new HttpError(404, 'notFound', `No such upload session: ${id}`);
    return session;
  }

  cancel(id: string): void {
    this.get(id);
    this.sessions.delete(id);
  }

  /**
   * Take a PUT's bytes. Returns the whole content when the request completes the upload, or
   * undefined when more is expected (the caller answers 308 with the persisted range). Bytes the
   * session already has are skipped; a non-final chunk keeps only whole 256 KiB units, as GCS
   * does, so the client must resend the rest from the offset the Range header gives.
   */
  accept(session: UploadSession, range: ContentRange, body: Buffer): Buffer | undefined {
    if (range.total !== undefined) {
      if (session.totalSize !== undefined && session.totalSize !== range.total)
        throw new HttpError(400, 'badRequest', `Content-Range total ${range.total} != declared ${session.totalSize}`);
      session.totalSize = range.total;
    }
    if (range.kind === 'status') {
      if (range.total !== undefined && range.total === session.persisted) return Buffer.concat(session.chunks);
      if (body.length > 0) throw new HttpError(400, 'badRequest', 'a status query must have an empty body');
      return undefined;
    }
    if (range.kind === 'chunk' && body.length !== range.last - range.first + 1)
      throw new HttpError(
        400,
        'badRequest',
        `Content-Range covers ${range.last - range.first + 1} bytes, the body has ${body.length}`,
      );
    if (range.first > session.persisted)
      throw new HttpError(
        400,
        'badRequest',
        `chunk starts at ${range.first} but only ${session.persisted} bytes were persisted`,
      );
    const fresh = body.subarray(session.persisted - range.first);
    const end = session.persisted + fresh.length;
    if (session.totalSize !== undefined && end > session.totalSize)
      throw new HttpError(400, 'badRequest', `upload exceeds its declared size ${session.totalSize}`);
    const complete = range.kind === 'rest' || (session.totalSize !== undefined && end === session.totalSize);
    if (complete) {
      if (session.totalSize !== undefined && end !== session.totalSize)
        throw new HttpError(400, 'badRequest', `upload ended at ${end} bytes, declared ${session.totalSize}`);
      return Buffer.concat([...session.chunks, fresh]);
    }
    const keep = Math.floor(fresh.length / CHUNK_GRANULARITY) * CHUNK_GRANULARITY;
    if (keep > 0) {
      session.chunks.push(Buffer.from(fresh.subarray(0, keep)));
      session.persisted += keep;
    }
    return undefined;
  }

  finish(session: UploadSession, resource: Record<string, unknown>): void {
    session.finished = resource;
    session.chunks = [];
  }
}
