/* global document */
/**
 * DOM helpers. Every value that comes from data is set with textContent (or as an attribute
 * value), never parsed as HTML: a product called "<img onerror=...>" is shown as those characters.
 */

/** Create an element: el('td', { class: 'num', testid: 'x', text: '42', title: '...' }, [children]). */
export function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  if (options.class) node.className = options.class;
  if (options.testid) node.dataset.testid = options.testid;
  if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
  if (options.title !== undefined && options.title !== null) node.setAttribute('title', String(options.title));
  if (options.attrs) for (const [name, value] of Object.entries(options.attrs)) node.setAttribute(name, String(value));
  if (options.data) for (const [name, value] of Object.entries(options.data)) node.dataset[name] = String(value);
  for (const child of children) if (child) node.append(child);
  return node;
}

/** The element with a data-testid (throws when missing: a page bug, not a data problem). */
export function byTestId(testid, root = document) {
  const node = root.querySelector(`[data-testid="${testid}"]`);
  if (!node) throw new Error(`missing element ${testid}`);
  return node;
}

/** Remove every child. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** Set a key figure: formatted text, the raw value in data-value. */
export function setFigure(testid, value, format, root = document) {
  const node = byTestId(testid, root);
  node.dataset.value = value === null || value === undefined ? '' : String(value);
  node.textContent = value === null || value === undefined ? '—' : format(value);
}

const usdWhole = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const usdCents = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const usdCompact = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  notation: 'compact',
  maximumFractionDigits: 1,
});
const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat('en-US', {
  style: 'percent',
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const decimal3 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 3, maximumFractionDigits: 3 });

/** Formatters shared by the views (the browser test formats with the same rules). */
export const fmt = {
  usd: (value) => usdWhole.format(value),
  usdCents: (value) => usdCents.format(value),
  usdCompact: (value) => usdCompact.format(value),
  count: (value) => count.format(value),
  compact: (value) => compact.format(value),
  percent: (value) => percent.format(value),
  decimal3: (value) => decimal3.format(value),
  text: (value) => (value === null || value === undefined || value === '' ? '—' : String(value)),
  date: (value) => (value ? String(value).slice(0, 10) : '—'),
  dateTime: (value) =>
    value
      ? String(value)
          .replace('T', ' ')
          .replace(/\.\d+Z$|Z$/, ' UTC')
      : '—',
  duration: (ms) => {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    const minutes = Math.floor(ms / 60_000);
    return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
  },
};

/**
 * Fill a table body: columns are { key, label, format?, class?, cell?(row) -> Node }.
 * An empty list shows one row saying so.
 */
export function fillTable(table, columns, rows, emptyText = 'No data for this selection') {
  const thead = table.tHead ?? table.createTHead();
  clear(thead);
  thead.append(
    el(
      'tr',
      {},
      columns.map((column) => el('th', { class: column.class ?? '', text: column.label })),
    ),
  );
  const tbody = table.tBodies[0] ?? table.createTBody();
  clear(tbody);
  if (rows.length === 0) {
    tbody.append(el('tr', { class: 'empty' }, [el('td', { text: emptyText, attrs: { colspan: columns.length } })]));
    return;
  }
  for (const row of rows) {
    tbody.append(
      el(
        'tr',
        {},
        columns.map((column) => {
          if (column.cell) return el('td', { class: column.class ?? '' }, [column.cell(row)]);
          const value = row[column.key];
          return el('td', {
            class: column.class ?? '',
            text: column.format ? column.format(value, row) : fmt.text(value),
          });
        }),
      ),
    );
  }
}

/** A small status badge (succeeded / failed / running, risk bands). */
export function badge(value, kind = value) {
  return el('span', { class: `badge badge-${String(kind).replace(/[^a-z_-]/gi, '')}`, text: fmt.text(value) });
}
