import {
  FieldPath,
  Firestore,
  type CollectionReference,
  type DocumentData,
  type Query,
  type QueryDocumentSnapshot,
} from '@google-cloud/firestore';
import {
  PermanentError,
  PlatformError,
  TransientError,
  errorMessage,
  type DocumentStore,
  type DocumentValue,
  type FieldFilter,
  type JsonDocument,
  type QueryOptions,
  type StoredDocument,
} from '@mlops/kernel';

/** Options of {@link FirestoreDocumentStore}. */
export interface FirestoreDocumentStoreOptions {
  /** Google Cloud project (any id on the emulator; tests use one per test to isolate). */
  projectId: string;
  /** `host:port` of the Firestore emulator; unset to talk to Google Cloud. */
  emulatorHost?: string;
  /** Firestore database (default `(default)`). */
  databaseId?: string;
  /**
   * BulkWriter ramp-up. Default: Firestore's 500/50/5 rule (start at 500 writes/s) on Google Cloud,
   * which protects a new collection's key range from hot-spotting; none on the emulator.
   */
  throttling?: boolean | { initialOpsPerSecond?: number; maxOpsPerSecond?: number };
}

// The same names the embedded store accepts, so a collection or field that works locally works here.
const FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const COLLECTION = /^[A-Za-z0-9_-]{1,100}$/;
const OPERATORS = new Set(['==', '<', '<=', '>', '>=']);
const TRANSIENT_GRPC_CODES = new Set([1, 4, 8, 10, 13, 14]); // CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE
const ABSENT_GRPC_CODES = new Set([5, 9]); // NOT_FOUND, FAILED_PRECONDITION: a delete whose document did not exist

function checkCollection(collection: string): void {
  if (!COLLECTION.test(collection))
    throw new PermanentError('STORE.BAD_COLLECTION', `collection name "${collection}" must match ${COLLECTION}`);
}

function checkField(field: string): void {
  if (!FIELD.test(field)) throw new PermanentError('STORE.BAD_FIELD', `field name "${field}" must match ${FIELD}`);
}

/** Why an id cannot name a Firestore document, or undefined when it can. */
function idProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0 || id.length > 1500 || id.includes('/'))
    return 'must be 1..1500 characters without "/"';
  if (Buffer.byteLength(id) > 1500) return 'must be at most 1500 bytes in UTF-8';
  if (id === '.' || id === '..' || /^__.*__$/.test(id)) return 'must not be "." or ".." or look like __reserved__';
  return undefined;
}

function checkFilter(filter: FieldFilter): void {
  checkField(filter.field);
  if (!OPERATORS.has(filter.op))
    throw new PermanentError('STORE.BAD_QUERY', `unsupported operator ${String(filter.op)}`);
  const value = filter.value as unknown;
  if (
    !(typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))
  ) {
    throw new PermanentError(
      'STORE.BAD_QUERY',
      `the value compared with ${filter.field} must be a string, a finite number or a boolean`,
    );
  }
}

/** Reject what Firestore cannot store before anything is written, so a batch never half-succeeds on bad data. */
function documentProblem(value: DocumentValue, path: string, insideArray: boolean): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return undefined;
  if (Array.isArray(value)) {
    if (insideArray) return `${path} is an array inside an array, which Firestore cannot store`;
    for (let i = 0; i < value.length; i += 1) {
      const problem = documentProblem(value[i]!, `${path}[${i}]`, true);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key.length === 0 || /^__.*__$/.test(key))
        return `${path} has a field named "${key}", which Firestore reserves or refuses`;
      if (inner === undefined) continue;
      const problem = documentProblem(inner, path ? `${path}.${key}` : key, false);
      if (problem) return problem;
    }
    return undefined;
  }
  return `${path} holds a ${typeof value}, which is not a JSON value`;
}

function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A Firestore failure as a platform error: transient for the gRPC codes that may pass, permanent otherwise. */
function storeError(error: unknown, action: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const code = grpcCode(error);
  const message = `Firestore ${action} failed: ${errorMessage(error)}`;
  if (code === undefined || TRANSIENT_GRPC_CODES.has(code))
    return new TransientError('STORE.UNAVAILABLE', message, { cause: error, details: { grpcCode: code } });
  return new PermanentError('STORE.REJECTED', message, { cause: error, details: { grpcCode: code } });
}

/** With `orderBy`, range conditions may name only that field: Firestore orders an inequality field first. */
function checkOrderBy(filters: readonly FieldFilter[], orderBy: string): void {
  checkField(orderBy);
  const other = filters.find((filter) => filter.op !== '==' && filter.field !== orderBy);
  if (other)
    throw new PermanentError(
      'STORE.BAD_QUERY',
      `a range condition on ${other.field} cannot be combined with ordering by ${orderBy}; order by ${other.field}`,
    );
}

/** Documents as pages of JSON text of at most `pageSize`. */
async function* jsonPages(documents: AsyncIterable<StoredDocument>, pageSize: number): AsyncIterable<JsonDocument[]> {
  let page: JsonDocument[] = [];
  for await (const document of documents) {
    page.push({ id: document.id, json: JSON.stringify(document.data) });
    if (page.length >= pageSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

type Scalar = string | number | boolean;

/**
 * Firestore's range semantics: values compare only with values of the same type (numbers with
 * numbers, strings with strings by UTF-8 bytes, booleans with booleans); anything else does not match.
 */
function rangeMatches(actual: unknown, op: FieldFilter['op'], expected: Scalar): boolean {
  if (typeof actual !== typeof expected) return false;
  let order: number;
  if (typeof expected === 'string') {
    order = Buffer.compare(Buffer.from(actual as string), Buffer.from(expected));
  } else {
    const a = Number(actual);
    const b = Number(expected);
    order = a < b ? -1 : a > b ? 1 : 0;
  }
  switch (op) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    default:
      return order === 0;
  }
}

/**
 * The document store on Firestore (or its emulator). Upserts go through a BulkWriter (parallel,
 * retried, batched by the SDK); `count` is an aggregation query; `query` streams page by page in
 * document-id order (`orderBy(documentId)`, `startAfter`, `limit`).
 *
 * Firestore cannot order by document id under a range filter (an inequality field must be ordered
 * first), so equality conditions run in Firestore and range conditions are applied to that
 * id-ordered stream here, with Firestore's own comparison rules. A query ordered by a field
 * (`orderBy`) runs whole in Firestore, ordered by that field then id, so a cursor on it reads only
 * what is past the cursor. Put a partition key (run date,
 * source) in an equality condition so a query reads only its partition. `count` runs every
 * condition in Firestore; equality plus range on different fields needs a composite index in
 * Google Cloud (the emulator needs none).
 *
 * Nothing here is a transaction across calls (a day of orders is far above Firestore's 500 writes
 * per transaction): a partition is replaced by upserting the new documents, then deleting those of
 * the partition that are not among them, so a reader sees the old day, then old and new together,
 * then the new day, and never an empty one.
 */
export class FirestoreDocumentStore implements DocumentStore {
  private readonly db: Firestore;
  private readonly throttling: boolean | { initialOpsPerSecond?: number; maxOpsPerSecond?: number };

  constructor(options: FirestoreDocumentStoreOptions) {
    this.throttling = options.throttling ?? (options.emulatorHost ? false : true);
    this.db = new Firestore({
      projectId: options.projectId,
      ...(options.databaseId ? { databaseId: options.databaseId } : {}),
      ignoreUndefinedProperties: true,
      ...(options.emulatorHost
        ? {
            host: options.emulatorHost,
            ssl: false,
            // The emulator needs no credentials; placeholder ones keep google-auth from probing the
            // GCE metadata server. (The SDK sends the emulator's admin token itself when ssl is off.)
            credentials: { client_email: 'emulator@localhost', private_key: 'unused-by-the-emulator' },
          }
        : {}),
    });
  }

  private collection(name: string): CollectionReference {
    checkCollection(name);
    return this.db.collection(name);
  }

  async upsertBatch(collection: string, documents: readonly StoredDocument[]): Promise<number> {
    const ref = this.collection(collection);
    const latest = new Map<string, StoredDocument['data']>();
    for (const document of documents) {
      const problem = idProblem(document.id);
      if (problem) throw new PermanentError('STORE.BAD_ID', `document id ${JSON.stringify(document.id)} ${problem}`);
      const dataProblem = documentProblem(document.data, '', false);
      if (dataProblem)
        throw new PermanentError('STORE.BAD_DOCUMENT', `document ${document.id}: ${dataProblem}`, {
          details: { id: document.id },
        });
      // The same id twice in one call: the last one wins, as in a transaction (BulkWriter does not order writes).
      latest.set(document.id, document.data);
    }
    if (latest.size === 0) return documents.length;
    const writer = this.db.bulkWriter({ throttling: this.throttling });
    const failures: unknown[] = [];
    for (const [id, data] of latest) {
      writer.set(ref.doc(id), data as DocumentData).catch((error: unknown) => void failures.push(error));
    }
    await writer.close();
    if (failures.length > 0)
      throw storeError(failures[0], `writing ${failures.length} of ${latest.size} documents to ${collection}`);
    return documents.length;
  }

  async get(collection: string, id: string): Promise<StoredDocument | undefined> {
    const ref = this.collection(collection);
    if (idProblem(id)) return undefined; // no such document can exist
    let snapshot;
    try {
      snapshot = await ref.doc(id).get();
    } catch (error) {
      throw storeError(error, `reading ${collection}/${id}`);
    }
    return snapshot.exists ? { id, data: snapshot.data() as StoredDocument['data'] } : undefined;
  }

  async *query(collection: string, options: QueryOptions = {}): AsyncIterable<StoredDocument> {
    const ref = this.collection(collection);
    const filters = options.where ?? [];
    filters.forEach(checkFilter);
    const pageSize = Math.max(1, Math.floor(options.pageSize ?? 1000));
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const ordered = options.orderBy !== undefined;
    if (ordered) checkOrderBy(filters, options.orderBy!);
    // Ordered by a field, every condition runs in Firestore (its range on that field's index);
    // otherwise range conditions are applied here to the id-ordered stream.
    const ranges = ordered ? [] : filters.filter((filter) => filter.op !== '==');
    let base: Query = ref;
    for (const filter of filters)
      if (ordered || filter.op === '==') base = base.where(filter.field, filter.op, filter.value);
    if (ordered) base = base.orderBy(options.orderBy!);
    base = base.orderBy(FieldPath.documentId());
    // Firestore orders null values first; the port leaves them out, like absent fields.
    const keep = (data: DocumentData) =>
      ordered
        ? data[options.orderBy!] !== null
        : ranges.every((filter) => rangeMatches(data[filter.field], filter.op, filter.value));
    const exact = ranges.length === 0 && !ordered;
    let last: QueryDocumentSnapshot | undefined;
    while (remaining > 0) {
      // With only equality conditions every fetched document is yielded, so never fetch past the limit.
      const fetchSize = exact ? Math.min(pageSize, remaining) : pageSize;
      let page = base.limit(fetchSize);
      if (last) page = page.startAfter(last);
      let snapshot;
      try {
        snapshot = await page.get();
      } catch (error) {
        throw storeError(error, `querying ${collection}`);
      }
      for (const document of snapshot.docs) {
        const data = document.data();
        if (!keep(data)) continue;
        yield { id: document.id, data: data as StoredDocument['data'] };
        remaining -= 1;
        if (remaining <= 0) return;
      }
      if (snapshot.size < fetchSize) return; // the last page
      last = snapshot.docs[snapshot.docs.length - 1];
    }
  }

  /** Firestore returns decoded values, so each document is serialised here: correct, not faster. */
  async *queryJson(collection: string, options: QueryOptions = {}): AsyncIterable<readonly JsonDocument[]> {
    yield* jsonPages(this.query(collection, options), Math.max(1, Math.floor(options.pageSize ?? 1000)));
  }

  async count(collection: string, options: Pick<QueryOptions, 'where'> = {}): Promise<number> {
    const ref = this.collection(collection);
    const filters = options.where ?? [];
    filters.forEach(checkFilter);
    let query: Query = ref;
    for (const filter of filters) query = query.where(filter.field, filter.op, filter.value);
    try {
      const snapshot = await query.count().get();
      return snapshot.data().count;
    } catch (error) {
      throw storeError(error, `counting ${collection}`);
    }
  }

  async deleteMany(collection: string, ids: readonly string[]): Promise<number> {
    const ref = this.collection(collection);
    const unique = [...new Set(ids)].filter((id) => idProblem(id) === undefined);
    if (unique.length === 0) return 0;
    const writer = this.db.bulkWriter({ throttling: this.throttling });
    let deleted = 0;
    const failures: unknown[] = [];
    for (const id of unique) {
      // The precondition tells us whether the document existed, atomically with the delete.
      writer.delete(ref.doc(id), { exists: true }).then(
        () => void (deleted += 1),
        (error: unknown) => {
          if (!ABSENT_GRPC_CODES.has(grpcCode(error) ?? -1)) failures.push(error);
        },
      );
    }
    await writer.close();
    if (failures.length > 0)
      throw storeError(failures[0], `deleting ${failures.length} of ${unique.length} documents from ${collection}`);
    return deleted;
  }

  async close(): Promise<void> {
    await this.db.terminate();
  }
}
