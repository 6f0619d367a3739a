import type Database from 'better-sqlite3';

/**
 * Attributes whose values repeat from message to message (one per event type or publisher): kept
 * once in `attribute_sets`, not in every row.
 */
const REPEATED: ReadonlySet<string> = new Set([
  'content-type',
  'ce-specversion',
  'ce-source',
  'ce-type',
  'ce-dataschema',
  'ce-datacontenttype',
]);

/** An attribute set: its names in order, a repeated attribute with its value, a varying one by name alone. */
type Shape = (string | [string, string])[];

/** Where a message's attributes go in its row: the attribute set's id and the varying values (JSON). */
export interface AttributeRow {
  set: number;
  values: string;
}

/** Separates the parts of a shape's in-memory key (a character no attribute name or repeated value needs). */
const SEP = '\u0000';

/** A character `JSON.stringify` would write otherwise than as itself (or one outside printable ASCII). */
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/**
 * `JSON.stringify(values)`, the same text: when every value is a string of plain printable ASCII
 * (no quote, no backslash), the values joined between quotes (one flat string), else
 * `JSON.stringify` itself. ~0.1 us less per message than `JSON.stringify`, insert included.
 */
export function jsonStrings(values: readonly unknown[]): string {
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    // A raw publish may carry a value that is no string: written as `JSON.stringify` writes it.
    if (typeof value !== 'string' || NOT_PLAIN.test(value)) return JSON.stringify(values);
  }
  return values.length === 0 ? '[]' : `["${values.join('","')}"]`;
}

/**
 * A message's attributes as a row stores them (layout 3): the id of its attribute set (the names
 * in order and the repeated values, interned in `attribute_sets`) and a JSON array of the varying
 * values. A row with no attribute set (written by layout 1 or 2) holds the whole attributes object.
 */
export class AttributeSets {
  /** Shape key -> id, for shapes known to be committed. */
  private readonly ids = new Map<string, number>();
  /** Id -> shape, for reading rows. */
  private readonly shapes = new Map<number, Shape>();
  /** The set matched last (committed), tried first. */
  private last: { id: number; shape: Shape } | undefined;
  private readonly insert: Database.Statement;
  private readonly find: Database.Statement;
  private readonly byId: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare('insert into attribute_sets (shape) values (?) on conflict(shape) do nothing');
    this.find = db.prepare('select id from attribute_sets where shape = ?').pluck();
    this.byId = db.prepare('select shape from attribute_sets where id = ?').pluck();
  }

  /** The attribute set id and the varying values (JSON) of a message's attributes, written into `row`. */
  encode(attributes: Record<string, string>, row: AttributeRow): void {
    const last = this.last;
    if (last !== undefined) {
      // The usual burst repeats one set: matched name by name, without building its key.
      const values: string[] = [];
      let index = 0;
      let same = true;
      for (const name in attributes) {
        if (!Object.hasOwn(attributes, name)) continue;
        const entry = last.shape[index++];
        if (entry === undefined) {
          same = false;
          break;
        }
        if (typeof entry === 'string') {
          if (entry !== name) {
            same = false;
            break;
          }
          values.push(attributes[name]!);
        } else if (entry[0] !== name || entry[1] !== attributes[name]) {
          same = false;
          break;
        }
      }
      if (same && index === last.shape.length) {
        row.set = last.id;
        row.values = jsonStrings(values);
        return;
      }
    }
    this.encodeByKey(attributes, row);
  }

  private encodeByKey(attributes: Record<string, string>, row: AttributeRow): void {
    let key = '';
    let exact = true;
    const values: string[] = [];
    for (const name in attributes) {
      if (!Object.hasOwn(attributes, name)) continue;
      if (name.includes(SEP)) exact = false;
      if (REPEATED.has(name)) {
        const value = attributes[name]!;
        if (value.includes(SEP)) exact = false;
        key += `${name}${SEP}${value}${SEP}${SEP}`;
      } else {
        key += `${name}${SEP}`;
        values.push(attributes[name]!);
      }
    }
    // A name or value holding the separator could make two shapes share a key: those are never cached.
    const set = exact ? (this.ids.get(key) ?? this.intern(key, attributes)) : this.intern(undefined, attributes);
    const shape = this.shapeOf(set);
    // Only a committed set is matched first next time.
    if (exact && this.ids.get(key) === set && shape) this.last = { id: set, shape };
    row.set = set;
    row.values = jsonStrings(values);
  }

  /**
   * Store a new attribute set. Its id is remembered only when the insert is committed at once
   * (outside a transaction): a rolled-back id must never be reused from memory.
   */
  private intern(key: string | undefined, attributes: Record<string, string>): number {
    const shape: Shape = [];
    for (const name in attributes) {
      if (!Object.hasOwn(attributes, name)) continue;
      shape.push(REPEATED.has(name) ? [name, attributes[name]!] : name);
    }
    const text = JSON.stringify(shape);
    this.insert.run(text);
    const id = this.find.get(text) as number;
    if (key !== undefined && !this.db.inTransaction) {
      this.ids.set(key, id);
      this.shapes.set(id, shape);
    }
    return id;
  }

  /** A committed attribute set by id, read once from the file. */
  private shapeOf(set: number): Shape | undefined {
    let shape = this.shapes.get(set);
    if (!shape && !this.db.inTransaction) {
      const text = this.byId.get(set) as string | undefined;
      if (text === undefined) return undefined;
      shape = JSON.parse(text) as Shape;
      this.shapes.set(set, shape);
    }
    return shape;
  }

  /** A row's attributes: from its attribute set and varying values, or the whole object of an older row. */
  decode(set: number | null, stored: string): Record<string, string> {
    if (set === null) return JSON.parse(stored) as Record<string, string>;
    let shape = this.shapes.get(set);
    if (!shape) {
      const text = this.byId.get(set) as string | undefined;
      if (text === undefined) throw new Error(`the bus file has no attribute set ${set}`);
      shape = JSON.parse(text) as Shape;
      this.shapes.set(set, shape);
    }
    const values = JSON.parse(stored) as string[];
    const attributes: Record<string, string> = {};
    let next = 0;
    for (const entry of shape) {
      if (typeof entry === 'string') attributes[entry] = values[next++]!;
      else attributes[entry[0]] = entry[1];
    }
    return attributes;
  }
}
