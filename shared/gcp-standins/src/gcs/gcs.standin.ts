import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HttpError,
  NotImplementedError,
  onlyFields,
  onlyParams,
  readBody,
  readJson,
  sendJson,
  serve,
  stderrLog,
  type RunningServer,
  type StandinLog,
} from '../http/server.js';
import { parseGoogHash } from './checksums.js';
import {
  GcsStorage,
  PRECONDITION_PARAMS,
  checkPreconditions,
  preconditionsOf,
  type ObjectWrite,
  type StoredObject,
} from './object-storage.js';
import { withFields } from '../http/fields.js';
import { bucketResource, etagOf, objectResource, parseMultipart } from './resources.js';
import { UploadSessions, parseContentRange } from './resumable-sessions.js';

/** Options of {@link startGcsStandin}. */
export interface GcsStandinOptions {
  /** Share storage with other stand-ins (BigQuery load jobs read `gs://` through it). */
  storage?: GcsStorage;
  /** Project that owns buckets created without `?project=`. */
  projectId?: string;
  log?: StandinLog;
  port?: number;
}

/** A request as the stand-in saw it (tests assert on what a client did, e.g. no media download). */
export interface SeenRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The answer's status, once sent. */
  status?: number;
}

/** A running GCS JSON API stand-in. */
export interface GcsStandin extends RunningServer {
  readonly storage: GcsStorage;
  /** The last requests served, oldest first (at most 10,000). */
  readonly requests: SeenRequest[];
}

const OBJECT_FIELDS = ['name', 'contentType', 'metadata', 'md5Hash', 'crc32c', 'cacheControl'];
const COMMON_PARAMS = ['fields', 'prettyPrint', 'alt', 'userProject', 'projection'];
const MAX_PAGE = 1000;

/** Start the GCS stand-in; point `@google-cloud/storage` at `url` with `apiEndpoint`. */
export async function startGcsStandin(options: GcsStandinOptions = {}): Promise<GcsStandin> {
  const storage = options.storage ?? new GcsStorage();
  const sessions = new UploadSessions();
  const requests: SeenRequest[] = [];
  const defaultProject = options.projectId ?? 'standin-project';

  const handler = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    };
    res.on('finish', () => (seen.status = res.statusCode));
    requests.push(seen);
    if (requests.length > 10_000) requests.splice(0, requests.length - 10_000);
    const baseUrl = `http://${req.headers.host ?? '127.0.0.1'}`;
    const method = req.method ?? 'GET';
    const params = url.searchParams;
    if (params.get('projection') !== null && params.get('projection') !== 'noAcl')
      throw new NotImplementedError(`projection=${params.get('projection')}`);
    if (params.get('alt') !== null && params.get('alt') !== 'json' && params.get('alt') !== 'media')
      throw new NotImplementedError(`alt=${params.get('alt')}`);
    const send = (status: number, body: unknown) => sendJson(res, status, withFields(body, params.get('fields')));

    const path = url.pathname;
    let match: RegExpExecArray | null;
    if ((match = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path))) {
      return upload(req, res, url, decodeURIComponent(match[1]!), baseUrl);
    }
    if ((match = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
      const bucket = decodeURIComponent(match[1]!);
      const name = decodeURIComponent(match[2]!);
      if (method === 'GET') return getObject(req, res, url, bucket, name, baseUrl);
      if (method === 'DELETE') {
        onlyParams(url, [...COMMON_PARAMS, ...PRECONDITION_PARAMS], 'objects.delete');
        storage.delete(bucket, name, preconditionsOf(params));
        res.writeHead(204).end();
        return;
      }
      throw new NotImplementedError(`${method} on an object (objects.patch, rewrite, compose, ...)`);
    }
    if ((match = /^\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(path))) {
      if (method !== 'GET') throw new NotImplementedError(`${method} ${path}`);
      return send(200, listObjects(url, decodeURIComponent(match[1]!), baseUrl));
    }
    if ((match = /^\/storage\/v1\/b\/([^/]+)\/?$/.exec(path))) {
      const bucket = decodeURIComponent(match[1]!);
      onlyParams(url, [...COMMON_PARAMS, 'ifMetagenerationMatch', 'ifMetagenerationNotMatch'], 'buckets.get/delete');
      if (method === 'GET') return send(200, bucketResource(storage.bucket(bucket), baseUrl));
      if (method === 'DELETE') {
        storage.deleteBucket(bucket);
        res.writeHead(204).end();
        return;
      }
      throw new NotImplementedError(`${method} on a bucket`);
    }
    if (/^\/storage\/v1\/b\/?$/.test(path) && method === 'POST') {
      onlyParams(url, [...COMMON_PARAMS, 'project', 'predefinedAcl', 'predefinedDefaultObjectAcl'], 'buckets.insert');
      if (params.get('predefinedAcl') || params.get('predefinedDefaultObjectAcl'))
        throw new NotImplementedError('bucket ACLs');
      const body = await readJson(req);
      onlyFields(body, ['name', 'location', 'storageClass'], 'buckets.insert');
      if (body.storageClass !== undefined && body.storageClass !== 'STANDARD')
        throw new NotImplementedError(`storageClass ${String(body.storageClass)}`);
      const created = storage.createBucket(
        String(body.name ?? ''),
        params.get('project') ?? defaultProject,
        body.location ? String(body.location) : 'US',
      );
      return send(200, bucketResource(created, baseUrl));
    }
    throw new NotImplementedError(`${method} ${path}`);
  };

  function listObjects(url: URL, bucket: string, baseUrl: string): Record<string, unknown> {
    onlyParams(
      url,
      [...COMMON_PARAMS, 'prefix', 'delimiter', 'pageToken', 'maxResults', 'startOffset', 'endOffset', 'versions'],
      'objects.list',
    );
    const params = url.searchParams;
    if (params.get('versions') === 'true') throw new NotImplementedError('objects.list with versions=true');
    const prefix = params.get('prefix') ?? '';
    const delimiter = params.get('delimiter') ?? '';
    const maxResults = Math.min(Number(params.get('maxResults') ?? MAX_PAGE) || MAX_PAGE, MAX_PAGE);
    const after = params.get('pageToken') ? Buffer.from(params.get('pageToken')!, 'base64url').toString('utf8') : '';
    const startOffset = params.get('startOffset') ?? '';
    const endOffset = params.get('endOffset');
    const items: Record<string, unknown>[] = [];
    const prefixes: string[] = [];
    let last = '';
    let more = false;
    for (const object of storage.list(bucket, prefix)) {
      if (after && object.name <= after) continue;
      if (object.name < startOffset || (endOffset !== null && object.name >= endOffset)) continue;
      let entry: string | undefined;
      if (delimiter) {
        const at = object.name.indexOf(delimiter, prefix.length);
        if (at >= 0) entry = object.name.slice(0, at + delimiter.length);
      }
      if (entry !== undefined && prefixes.at(-1) === entry) {
        last = object.name;
        continue;
      }
      if (items.length + prefixes.length >= maxResults) {
        more = true;
        break;
      }
      if (entry !== undefined) prefixes.push(entry);
      else items.push(objectResource(object, baseUrl));
      last = object.name;
    }
    return {
      kind: 'storage#objects',
      ...(more ? { nextPageToken: Buffer.from(last).toString('base64url') } : {}),
      ...(prefixes.length > 0 ? { prefixes } : {}),
      ...(items.length > 0 ? { items } : {}),
    };
  }

  async function getObject(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bucket: string,
    name: string,
    baseUrl: string,
  ): Promise<void> {
    onlyParams(url, [...COMMON_PARAMS, ...PRECONDITION_PARAMS, 'generation'], 'objects.get');
    const object = storage.object(bucket, name);
    const generation = url.searchParams.get('generation');
    if (generation !== null && generation !== String(object.generation))
      throw new HttpError(404, 'notFound', `No such object: ${bucket}/${name}#${generation} (no versioning here)`);
    checkPreconditions(object, preconditionsOf(url.searchParams), true);
    if (url.searchParams.get('alt') !== 'media') {
      sendJson(res, 200, withFields(objectResource(object, baseUrl), url.searchParams.get('fields')));
      return;
    }
    sendMedia(req, res, object);
  }

  function sendMedia(req: IncomingMessage, res: ServerResponse, object: StoredObject): void {
    const headers: Record<string, string> = {
      'content-type': object.contentType,
      'x-goog-generation': String(object.generation),
      'x-goog-metageneration': String(object.metageneration),
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-stored-content-length': String(object.data.length),
      'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5Hash}`,
      etag: etagOf(object),
      'last-modified': object.timeCreated.toUTCString(),
      'accept-ranges': 'bytes',
    };
    const range = req.headers.range;
    if (range === undefined) {
      res.writeHead(200, { ...headers, 'content-length': String(object.data.length) });
      res.end(object.data);
      return;
    }
    const match = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (!match || (match[1] === '' && match[2] === '')) throw new NotImplementedError(`Range: ${range}`);
    const size = object.data.length;
    const first = match[1] === '' ? Math.max(0, size - Number(match[2])) : Number(match[1]);
    const last = match[1] === '' || match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (first >= size)
      throw new HttpError(416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.');
    delete headers['x-goog-hash']; // the hashes describe the whole object
    res.writeHead(206, {
      ...headers,
      'content-length': String(last - first + 1),
      'content-range': `bytes ${first}-${last}/${size}`,
    });
    res.end(object.data.subarray(first, last + 1));
  }

  /** The object fields of an insert, as the JSON metadata part or the resumable initiation body. */
  function writeFields(body: Record<string, unknown>, where: string): ObjectWrite & { name?: string } {
    onlyFields(body, OBJECT_FIELDS, where);
    const metadata = body.metadata as Record<string, unknown> | undefined;
    const out: ObjectWrite & { name?: string } = {};
    if (body.name !== undefined) out.name = String(body.name);
    if (body.contentType !== undefined) out.contentType = String(body.contentType);
    if (body.cacheControl !== undefined) out.cacheControl = String(body.cacheControl);
    if (metadata) {
      out.metadata = {};
      for (const [key, value] of Object.entries(metadata))
        if (value !== null && value !== undefined) out.metadata[key] = String(value);
    }
    return out;
  }

  async function upload(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bucket: string,
    baseUrl: string,
  ): Promise<void> {
    const params = url.searchParams;
    const uploadId = params.get('upload_id');
    if (uploadId !== null) return resumeUpload(req, res, url, uploadId, baseUrl);
    onlyParams(
      url,
      [...COMMON_PARAMS, ...PRECONDITION_PARAMS, 'uploadType', 'name', 'predefinedAcl'],
      'objects.insert (upload)',
    );
    if (params.get('predefinedAcl')) throw new NotImplementedError('object ACLs (predefinedAcl)');
    if (req.method !== 'POST') throw new NotImplementedError(`${req.method} on the upload endpoint without upload_id`);
    storage.bucket(bucket); // 404 before reading a body for a bucket that does not exist
    const conditions = preconditionsOf(params);
    const uploadType = params.get('uploadType');
    const hashes = parseGoogHash(req.headers['x-goog-hash']);
    if (uploadType === 'media') {
      const name = params.get('name');
      if (!name) throw new HttpError(400, 'required', 'Required parameter: name');
      const data = await readBody(req);
      const fields = req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {};
      const object = storage.write(bucket, name, data, fields, conditions, hashes);
      sendJson(res, 200, withFields(objectResource(object, baseUrl), params.get('fields')));
      return;
    }
    if (uploadType === 'multipart') {
      const parts = parseMultipart(await readBody(req), String(req.headers['content-type'] ?? ''));
      if (parts.length !== 2)
        throw new HttpError(400, 'badContent', `multipart upload has ${parts.length} parts, not 2`);
      const [head, media] = parts as [(typeof parts)[0], (typeof parts)[0]];
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(head.body.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new HttpError(400, 'parseError', 'the metadata part of a multipart upload is not JSON');
      }
      const fields = writeFields(json, 'the object resource of objects.insert');
      const name = params.get('name') ?? fields.name;
      if (!name) throw new HttpError(400, 'required', 'Required parameter: name');
      fields.contentType ??= media.headers['content-type'];
      const object = storage.write(bucket, name, media.body, fields, conditions, {
        md5: json.md5Hash ?? hashes.md5,
        crc32c: json.crc32c ?? hashes.crc32c,
      });
      sendJson(res, 200, withFields(objectResource(object, baseUrl), params.get('fields')));
      return;
    }
    if (uploadType === 'resumable') {
      const json = await readJson(req);
      const fields = writeFields(json, 'the object resource of a resumable upload');
      const name = params.get('name') ?? fields.name;
      if (!name) throw new HttpError(400, 'required', 'Required parameter: name');
      const contentType = req.headers['x-upload-content-type'];
      if (typeof contentType === 'string') fields.contentType ??= contentType;
      const declared = req.headers['x-upload-content-length'];
      checkPreconditions(storage.find(bucket, name), conditions);
      const session = sessions.open(
        bucket,
        name,
        fields,
        conditions,
        typeof declared === 'string' ? Number(declared) : undefined,
      );
      const location = `${baseUrl}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${session.id}`;
      res.writeHead(200, { location, 'x-guploader-uploadid': session.id, 'content-length': '0' }).end();
      return;
    }
    throw new NotImplementedError(`uploadType=${uploadType}`);
  }

  async function resumeUpload(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    uploadId: string,
    baseUrl: string,
  ): Promise<void> {
    const session = sessions.get(uploadId);
    if (req.method === 'DELETE') {
      sessions.cancel(uploadId);
      res.writeHead(499, { 'content-length': '0' }).end();
      return;
    }
    if (req.method !== 'PUT' && req.method !== 'POST')
      throw new NotImplementedError(`${req.method} on an upload session`);
    const body = await readBody(req);
    if (session.finished) {
      sendJson(res, 200, session.finished);
      return;
    }
    const range = parseContentRange(req.headers['content-range'] as string | undefined, body.length);
    const content = sessions.accept(session, range, body);
    if (content === undefined) {
      const headers: Record<string, string> = { 'content-length': '0' };
      if (session.persisted > 0) headers.range = `bytes=0-${session.persisted - 1}`;
      res.writeHead(308, headers).end();
      return;
    }
    const object = storage.write(
      session.bucket,
      session.name,
      content,
      session.fields,
      session.conditions,
      parseGoogHash(req.headers['x-goog-hash']),
    );
    const resource = objectResource(object, baseUrl);
    sessions.finish(session, resource);
    sendJson(res, 200, withFields(resource, url.searchParams.get('fields')));
  }

  const server = await serve('gcs', handler, options.log ?? stderrLog, options.port);
  return { ...server, storage, requests };
}
