import { HttpError } from './server.js';

type FieldTree = Map<string, FieldTree | true>;

/**
 * Parse a partial-response selector (`items(name,size),nextPageToken`, `a/b`), the syntax of the
 * `fields` parameter of every JSON API.
 */
export function parseFields(spec: string): FieldTree {
  let index = 0;
  const invalid = () => new HttpError(400, 'invalidParameter', `Invalid field selection ${spec}`);
  // One `name`, `name(list)` or `name/path` entry.
  const parseEntry = (): [string, FieldTree | true] => {
    const start = index;
    while (index < spec.length && !',()/'.includes(spec[index]!)) index += 1;
    const name = spec.slice(start, index).trim();
    if (!name) throw invalid();
    if (spec[index] === '(') {
      index += 1;
      const sub = parseList();
      if (spec[index] !== ')') throw invalid();
      index += 1;
      return [name, sub];
    }
    if (spec[index] === '/') {
      index += 1;
      return [name, new Map([parseEntry()])];
    }
    return [name, true];
  };
  const parseList = (): FieldTree => {
    const tree: FieldTree = new Map();
    for (;;) {
      const [name, sub] = parseEntry();
      const existing = tree.get(name);
      tree.set(name, existing === undefined || existing === true || sub === true ? sub : mergeTrees(existing, sub));
      if (spec[index] !== ',') return tree;
      index += 1;
    }
  };
  const tree = parseList();
  if (index !== spec.length) throw invalid();
  return tree;
}

function mergeTrees(a: FieldTree, b: FieldTree): FieldTree {
  const out: FieldTree = new Map(a);
  for (const [key, value] of b) {
    const existing = out.get(key);
    out.set(key, existing === undefined || existing === true || value === true ? value : mergeTrees(existing, value));
  }
  return out;
}

/** Keep only the selected fields of a response (arrays: of each element). */
export function selectFields(value: unknown, tree: FieldTree): unknown {
  if (Array.isArray(value)) return value.map((item) => selectFields(item, tree));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of tree) {
    const inner = (value as Record<string, unknown>)[key];
    if (inner === undefined) continue;
    out[key] = sub === true ? inner : selectFields(inner, sub);
  }
  return out;
}

/** Apply the request's `fields` parameter, when present. */
export function withFields(body: unknown, fields: string | null): unknown {
  return fields ? selectFields(body, parseFields(fields)) : body;
}
