/**
 * Lexical facts about GoogleSQL text, for what the BigQuery warehouse decides before sending a
 * statement: whether it is one query (read sessions run nothing else), and its parameters renamed
 * so several statements can share one script job. Strings ('..', "..", triple-quoted), quoted
 * identifiers (`..`) and comments (--, #, /* *\/) are skipped, so a `?` or `;` inside them is text.
 */

/** A piece of SQL: code, where parameters and separators count, or skipped text. */
interface Piece {
  code: boolean;
  text: string;
}

function closingOf(sql: string, start: number): number {
  const quote = sql[start]!;
  if (quote === '`') {
    const end = sql.indexOf('`', start + 1);
    return end < 0 ? sql.length : end + 1;
  }
  const triple = sql.startsWith(quote.repeat(3), start);
  const close = triple ? quote.repeat(3) : quote;
  let index = start + close.length;
  while (index < sql.length) {
    if (sql[index] === '\\') index += 2;
    else if (sql.startsWith(close, index)) return index + close.length;
    else index += 1;
  }
  return sql.length;
}

function pieces(sql: string): Piece[] {
  const out: Piece[] = [];
  let code = '';
  let index = 0;
  const skip = (end: number) => {
    if (code) out.push({ code: true, text: code });
    code = '';
    out.push({ code: false, text: sql.slice(index, end) });
    index = end;
  };
  while (index < sql.length) {
    const char = sql[index]!;
    if (char === "'" || char === '"' || char === '`') skip(closingOf(sql, index));
    else if (char === '#' || sql.startsWith('--', index)) {
      const end = sql.indexOf('\n', index);
      skip(end < 0 ? sql.length : end);
    } else if (sql.startsWith('/*', index)) {
      const end = sql.indexOf('*/', index + 2);
      skip(end < 0 ? sql.length : end + 2);
    } else {
      code += char;
      index += 1;
    }
  }
  if (code) out.push({ code: true, text: code });
  return out;
}

/**
 * Whether the text is a single query (`select`, `with`, or a parenthesised query), with nothing
 * after a terminating `;`. Scripts, DML and DDL are not.
 */
export function isSingleQuery(sql: string): boolean {
  const code = pieces(sql)
    .filter((piece) => piece.code)
    .map((piece) => piece.text)
    .join(' ');
  const trimmed = code.trim().replace(/;\s*$/, '');
  if (trimmed.includes(';')) return false;
  return /^[(\s]*(select|with)\b/i.test(trimmed);
}

/**
 * The statement with every parameter renamed under `prefix`: positional `?` becomes
 * `@<prefix><n>` (n from 0) and named `@name` becomes `@<prefix>name`, so statements with their own
 * parameters can run together in one script. `@@` system variables are left alone.
 */
export function prefixParameters(sql: string, prefix: string): { sql: string; positional: number } {
  let positional = 0;
  const text = pieces(sql)
    .map((piece) =>
      piece.code
        ? piece.text.replace(/@@\w+|@(\w+)|\?/g, (match, name: string | undefined) => {
            if (match.startsWith('@@')) return match;
            if (name !== undefined) return `@${prefix}${name}`;
            return `@${prefix}${positional++}`;
          })
        : piece.text,
    )
    .join('');
  return { sql: text, positional };
}
