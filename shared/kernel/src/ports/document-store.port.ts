/** A JSON-like value a document may hold. */
export type DocumentValue = string | number | boolean | null | DocumentValue[] | { [key: string]: DocumentValue };

/** A document: its id within the collection and its fields. */
export interface StoredDocument {
  id: string;
  data: Record<string, DocumentValue>;
}

/**
 * A document as the JSON text of its data (an object, serialised the way `JSON.stringify` writes
 * it), for readers that hand documents to an engine without parsing them.
 */
export interface JsonDocument {
  readonly id: string;
  readonly json: string;
}

/** One equality or range condition on a top-level field. */
export interface FieldFilter {
  field: string;
  op: '==' | '<' | '<=' | '>' | '>=';
  value: string | number | boolean;
}

/** Options of a query: conditions are ANDed; results are ordered by document id unless `orderBy` says otherwise. */
export interface QueryOptions {
  where?: readonly FieldFilter[];
  /**
   * Order by this top-level field, then by id, and leave out documents where it is absent or null. Range conditions
   * may then name only this field, and the store answers them from the field's index instead of
   * reading the collection (a cursor: `recordedAt >= last`). Keep the field of one type: order
   * across types differs between stores. On Firestore an equality condition on another field as
   * well needs a composite index (that field, then this one).
   */
  orderBy?: string;
  /** Documents fetched per round trip while streaming (default 1,000). */
  pageSize?: number;
  limit?: number;
}

/**
 * The document store (Firestore in the cloud). Writes are idempotent upserts by id, so a stage that
 * runs twice leaves one copy.
 */
export interface DocumentStore {
  /** Insert or replace documents by id in batches; resolves to how many were written. */
  upsertBatch(collection: string, documents: readonly StoredDocument[]): Promise<number>;
  /** One document, or undefined. */
  get(collection: string, id: string): Promise<StoredDocument | undefined>;
  /** Stream matching documents in id (or `orderBy`) order, page by page, with bounded memory. */
  query(collection: string, options?: QueryOptions): AsyncIterable<StoredDocument>;
  /**
   * The same documents as {@link query} (same conditions, order and limit) as JSON text, one
   * page of at most `pageSize` documents at a time. A store that keeps JSON text returns it
   * without parsing it, so a bulk reader pays no parse per document.
   */
  queryJson(collection: string, options?: QueryOptions): AsyncIterable<readonly JsonDocument[]>;
  /** How many documents match. */
  count(collection: string, options?: Pick<QueryOptions, 'where'>): Promise<number>;
  /** Delete documents by id; resolves to how many existed. */
  deleteMany(collection: string, ids: readonly string[]): Promise<number>;
  close(): Promise<void>;
}
