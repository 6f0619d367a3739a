import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, copyFile, link } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  PermanentError,
  SharedErrors,
  type ListedObject,
  type ObjectBody,
  type ObjectMeta,
  type ObjectStore,
} from '@mlops/kernel';

const KEY = /^(?!\/)(?!.*\/\/)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._=\-/]+$/;

interface Sidecar {
  sha256: string;
  bytes: number;
  mtimeMs: number;
  contentType?: string;
}

/**
 * The lake on a local folder. Every put streams to a hidden temporary file beside the target,
 * hashing as it goes, and renames it into place: readers see the old object or the new one. The
 * content hash is kept in a hidden sidecar (`.<name>.meta.json`) that engines' globs never match.
 */
export class FsObjectStore implements ObjectStore {
  readonly root: string;

  constructor(options: { root: string }) {
    this.root = resolve(options.root);
  }

  private pathOf(key: string): string {
    if (!KEY.test(key))
      throw new PermanentError(
        'STORE.BAD_KEY',
        `object key "${key}" must be a relative path of letters, digits and ._=-/ without . or .. segments`,
      );
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep))
      throw new PermanentError('STORE.BAD_KEY', `object key "${key}" escapes the lake`);
    return path;
  }

  private sidecarOf(path: string): string {
    return join(dirname(path), `.${path.slice(dirname(path).length + 1)}.meta.json`);
  }

  async put(key: string, body: ObjectBody, options: { contentType?: string } = {}): Promise<ObjectMeta> {
    const path = this.pathOf(key);
    const staged = await this.stage(path, body);
    try {
      await rename(staged.temp, path);
      return await this.commit(key, path, staged.temp, staged.sha256, staged.bytes, options.contentType);
    } catch (error) {
      await rm(staged.temp, { force: true });
      throw error;
    }
  }

  /** A hard link fails when the name exists, so creation is atomic; the staged copy then goes. */
  async putIfAbsent(
    key: string,
    body: ObjectBody,
    options: { contentType?: string } = {},
  ): Promise<ObjectMeta | undefined> {
    const path = this.pathOf(key);
    const staged = await this.stage(path, body);
    try {
      await link(staged.temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
      throw error;
    } finally {
      await rm(staged.temp, { force: true });
    }
    return this.commit(key, path, staged.temp, staged.sha256, staged.bytes, options.contentType);
  }

  /** Stream the body to a hidden temporary file beside the target, hashing as it goes. */
  private async stage(path: string, body: ObjectBody): Promise<{ temp: string; sha256: string; bytes: number }> {
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const source =
      typeof body === 'string' || body instanceof Uint8Array
        ? Readable.from([typeof body === 'string' ? Buffer.from(body) : body])
        : Readable.from(body);
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(temp, { flush: true }));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return { temp, sha256: hash.digest('hex'), bytes };
  }

  async putFile(key: string, localPath: string, options: { contentType?: string } = {}): Promise<ObjectMeta> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await copyFile(localPath, temp);
      const { sha256, bytes } = await hashFile(temp);
      await rename(temp, path);
      return await this.commit(key, path, temp, sha256, bytes, options.contentType);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** Record the hash of the object now at `path` in its sidecar. */
  private async commit(
    key: string,
    path: string,
    temp: string,
    sha256: string,
    bytes: number,
    contentType: string | undefined,
  ): Promise<ObjectMeta> {
    const info = await stat(path);
    const sidecar: Sidecar = { sha256, bytes, mtimeMs: info.mtimeMs, ...(contentType ? { contentType } : {}) };
    const sidecarTemp = `${temp}.meta`;
    await writeFile(sidecarTemp, JSON.stringify(sidecar));
    await rename(sidecarTemp, this.sidecarOf(path));
    return { key, bytes, sha256, updatedAt: info.mtime, ...(contentType ? { contentType } : {}) };
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw SharedErrors.notFound(`object ${key}`);
      throw error;
    }
  }

  stream(key: string): ReadStream {
    return createReadStream(this.pathOf(key));
  }

  async head(key: string): Promise<ObjectMeta | undefined> {
    const listed = await this.listed(key);
    if (!listed) return undefined;
    // Written by something other than this store: hash it now.
    return listed.sha256 === undefined
      ? { ...listed, sha256: (await hashFile(this.pathOf(key))).sha256 }
      : { ...listed, sha256: listed.sha256 };
  }

  /** What the file system and the sidecar say, without reading the content. */
  private async listed(key: string): Promise<ListedObject | undefined> {
    const path = this.pathOf(key);
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let sidecar: Sidecar | undefined;
    try {
      sidecar = JSON.parse(await readFile(this.sidecarOf(path), 'utf8')) as Sidecar;
    } catch {
      sidecar = undefined;
    }
    // A sidecar that no longer describes the file (rewritten by something else) says nothing.
    const current = sidecar && sidecar.bytes === info.size && sidecar.mtimeMs === info.mtimeMs ? sidecar : undefined;
    return {
      key,
      bytes: info.size,
      updatedAt: info.mtime,
      ...(current ? { sha256: current.sha256 } : {}),
      ...(current?.contentType ? { contentType: current.contentType } : {}),
    };
  }

  async list(prefix: string): Promise<ListedObject[]> {
    const keys: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR')
          return;
        throw error;
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const key = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(join(dir, entry.name), key);
        } else if (key.startsWith(prefix)) keys.push(key);
      }
    };
    await walk(this.root, '');
    keys.sort();
    const metas = await Promise.all(keys.map((key) => this.listed(key)));
    return metas.filter((meta): meta is ListedObject => meta !== undefined);
  }

  async delete(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const key of keys) {
      const path = this.pathOf(key);
      try {
        await rm(path);
        deleted += 1;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      await rm(this.sidecarOf(path), { force: true });
    }
    return deleted;
  }

  uri(key: string): string {
    return this.pathOf(key);
  }
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
