/**
 * In-memory fakes of the ports, for unit tests of handlers. Integration tests use the real
 * adapters and engines instead.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  SharedErrors,
  type AnyEvent,
  createEvent,
  type EventDataMap,
  type EventType,
  validateEvent,
  type WireMessage,
  silentLogger,
  type Logger,
  type DocumentStore,
  type JsonDocument,
  type QueryOptions,
  type StoredDocument,
  type DeadLetterInfo,
  type DeadLetterSink,
  type Delivery,
  type Publisher,
  type ObjectBody,
  type ObjectMeta,
  type ObjectStore,
  type WarehouseAccess,
  type Warehouse,
  dispatch,
  type Service,
} from '@mlops/kernel';

/**
 * A publisher and dead-letter sink that validates and records every event and dead letter, for
 * asserting on what a handler emitted or a transport gave up on.
 */
export class RecordingPublisher implements Publisher, DeadLetterSink {
  readonly events: AnyEvent[] = [];
  readonly deadLetters: { message: WireMessage; info: DeadLetterInfo }[] = [];
  async publish(event: AnyEvent): Promise<string> {
    this.events.push(validateEvent(event));
    return String(this.events.length);
  }
  async deadLetter(message: WireMessage, info: DeadLetterInfo): Promise<void> {
    this.deadLetters.push({ message, info });
  }
  /** Events of one type. */
  ofType<K extends EventType>(type: K): Extract<AnyEvent, { type: K }>[] {
    return this.events.filter((event): event is Extract<AnyEvent, { type: K }> => event.type === type);
  }
}

/** A test event of the given type for a run date. */
export function testEvent<K extends EventType>(
  type: K,
  data: EventDataMap[K],
  rundate: string,
  options: { id?: string; runid?: string } = {},
): Extract<AnyEvent, { type: K }> {
  return createEvent(type, data, {
    source: '//mlops/test',
    runid: options.runid ?? `run_test_${rundate}`,
    rundate,
    ...(options.id ? { id: options.id } : {}),
  }) as unknown as Extract<AnyEvent, { type: K }>;
}

/** Deliver one event to a service as a transport would, collecting what it emitted. */
export async function deliver(
  service: Service,
  event: AnyEvent,
  options: { publisher?: RecordingPublisher; log?: Logger; attempt?: number } = {},
): Promise<RecordingPublisher> {
  const publisher = options.publisher ?? new RecordingPublisher();
  const delivery: Delivery = {
    messageId: event.id,
    subscription: `${service.name}.test`,
    attempt: options.attempt ?? 1,
    publishedAt: new Date(),
  };
  await dispatch(service, validateEvent(event), delivery, publisher, options.log ?? silentLogger);
  return publisher;
}

function compare(a: unknown, op: string, b: unknown): boolean {
  if (op === '==') return a === b;
  if (typeof a !== typeof b || a === null) return false;
  const x = a as number | string;
  const y = b as number | string;
  return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
}

/** A document store in memory. */
export class InMemoryDocumentStore implements DocumentStore {
  private readonly collections = new Map<string, Map<string, StoredDocument['data']>>();
  private collection(name: string): Map<string, StoredDocument['data']> {
    let collection = this.collections.get(name);
    if (!collection) this.collections.set(name, (collection = new Map()));
    return collection;
  }
  async upsertBatch(collection: string, documents: readonly StoredDocument[]): Promise<number> {
    for (const document of documents) this.collection(collection).set(document.id, structuredClone(document.data));
    return documents.length;
  }
  async get(collection: string, id: string): Promise<StoredDocument | undefined> {
    const data = this.collection(collection).get(id);
    return data ? { id, data: structuredClone(data) } : undefined;
  }
  async *query(collection: string, options: QueryOptions = {}): AsyncIterable<StoredDocument> {
    const field = options.orderBy;
    let ids = [...this.collection(collection).keys()].sort();
    if (field !== undefined) {
      const value = (id: string) => this.collection(collection).get(id)![field] as string | number | null | undefined;
      ids = ids.filter((id) => value(id) !== undefined && value(id) !== null);
      // A stable sort keeps id order among equal values.
      ids.sort((a, b) => {
        const x = value(a)!;
        const y = value(b)!;
        return x < y ? -1 : x > y ? 1 : 0;
      });
    }
    let yielded = 0;
    for (const id of ids) {
      const data = this.collection(collection).get(id)!;
      if ((options.where ?? []).every((f) => compare(data[f.field], f.op, f.value))) {
        if (options.limit !== undefined && yielded >= options.limit) return;
        yielded += 1;
        yield { id, data: structuredClone(data) };
      }
    }
  }
  async *queryJson(collection: string, options: QueryOptions = {}): AsyncIterable<readonly JsonDocument[]> {
    const pageSize = Math.max(1, options.pageSize ?? 1000);
    let page: JsonDocument[] = [];
    for await (const document of this.query(collection, options)) {
      page.push({ id: document.id, json: JSON.stringify(document.data) });
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }
  async count(collection: string, options: Pick<QueryOptions, 'where'> = {}): Promise<number> {
    let n = 0;
    for await (const _ of this.query(collection, options)) n += 1;
    return n;
  }
  async deleteMany(collection: string, ids: readonly string[]): Promise<number> {
    return ids.filter((id) => this.collection(collection).delete(id)).length;
  }
  async close(): Promise<void> {}
}

/** An object store in memory. */
export class InMemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, { body: Buffer; meta: ObjectMeta }>();
  async put(key: string, body: ObjectBody, options: { contentType?: string } = {}): Promise<ObjectMeta> {
    const chunks: Buffer[] = [];
    if (typeof body === 'string' || body instanceof Uint8Array) chunks.push(Buffer.from(body));
    else for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
    const content = Buffer.concat(chunks);
    const meta: ObjectMeta = {
      key,
      bytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      updatedAt: new Date(),
      ...(options.contentType ? { contentType: options.contentType } : {}),
    };
    this.objects.set(key, { body: content, meta });
    return meta;
  }
  async putFile(key: string, path: string, options: { contentType?: string } = {}): Promise<ObjectMeta> {
    const { readFile } = await import('node:fs/promises');
    return this.put(key, await readFile(path), options);
  }
  async putIfAbsent(
    key: string,
    body: ObjectBody,
    options: { contentType?: string } = {},
  ): Promise<ObjectMeta | undefined> {
    return this.objects.has(key) ? undefined : this.put(key, body, options);
  }
  async get(key: string): Promise<Buffer> {
    const object = this.objects.get(key);
    if (!object) throw SharedErrors.notFound(`object ${key}`);
    return object.body;
  }
  stream(key: string): Readable {
    const object = this.objects.get(key);
    if (!object) throw SharedErrors.notFound(`object ${key}`);
    return Readable.from([object.body]);
  }
  async head(key: string): Promise<ObjectMeta | undefined> {
    return this.objects.get(key)?.meta;
  }
  async list(prefix: string): Promise<ObjectMeta[]> {
    return [...this.objects.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort()
      .map((key) => this.objects.get(key)!.meta);
  }
  async delete(keys: readonly string[]): Promise<number> {
    return keys.filter((key) => this.objects.delete(key)).length;
  }
  uri(key: string): string {
    return `memory://${key}`;
  }
}

/**
 * Sessions on one warehouse the test opened and closes itself: every read and write session runs
 * on it, one at a time, and the version counts the write sessions. For tests of code that takes a
 * {@link WarehouseAccess}; the access across processes is tested on its own adapter.
 */
export function warehouseAccessOf(warehouse: Warehouse): WarehouseAccess {
  let writes = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    read: (work) => serial(() => work(warehouse)),
    write: (work) =>
      serial(async () => {
        try {
          return await work(warehouse);
        } finally {
          writes += 1;
        }
      }),
    version: async () => `test.${writes}`,
    close: async () => undefined,
  };
}

/** An access for code that must not touch the warehouse: every session fails with `reason`. */
export function unusedWarehouse(reason: string): WarehouseAccess {
  const refuse = async (): Promise<never> => {
    throw new Error(reason);
  };
  return { read: refuse, write: refuse, version: async () => 'missing', close: async () => undefined };
}

/** Poll until the predicate holds, or fail with the description after the timeout. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  description: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
}

/** Poll until the probe gives a value (anything but undefined) and resolve to it. */
export async function waitForValue<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  description: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A process started by {@link startMainProcess}. */
export interface StartedProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
  /** Its exit code (null after a signal). */
  exited: Promise<number | null>;
}

/**
 * A TypeScript entry point (a service's `src/main.ts`) in its own process through the
 * repository's tsx, as `npx tsx --conditions=@mlops/source <main>` starts it (the workspaces' sources),
 * with only PATH, HOME and the given environment.
 */
export function startMainProcess(main: string, env: Record<string, string>): StartedProcess {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const child = spawn(join(root, 'node_modules/.bin/tsx'), ['--conditions=@mlops/source', main], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** A service's `main.ts` run as its own process, test after test. */
export interface ProcessHarness {
  /** A fresh folder for `MLOPS_HOME`, removed by {@link ProcessHarness.stop}. */
  home(): string;
  /** Start the service with only this environment (see {@link startMainProcess}); stopped by `stop`. */
  start(env: Record<string, string>): StartedProcess;
  /** Kill the processes still running and remove the folders (call it after each test). */
  stop(): void;
}

/** A harness for the process of `main`; its folders are named after `prefix`. */
export function processHarness(main: string, prefix: string): ProcessHarness {
  const folders: string[] = [];
  const children: StartedProcess['child'][] = [];
  return {
    home() {
      const folder = mkdtempSync(join(tmpdir(), prefix));
      folders.push(folder);
      return folder;
    },
    start(env) {
      const run = startMainProcess(main, env);
      children.push(run.child);
      return run;
    },
    stop() {
      for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
      for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** A temporary folder, removed by the returned function. */
export function tempDir(prefix = 'mlops-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
export * from './emulators.js';
