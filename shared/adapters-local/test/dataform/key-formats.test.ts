import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEV_PII_HMAC_KEY } from '@mlops/kernel';
import {
  generateClickEvents,
  generateSalesOrders,
  generateStartupCompanies,
  type GeneratedRecord,
} from '@mlops/synthetic';
import { KEY_FORMATS } from './key-formats.js';

const SCHEMAS = resolve(import.meta.dirname, '../../../../schemas/records');

function schemaPatterns(file: string): Record<string, string> {
  const schema = JSON.parse(readFileSync(resolve(SCHEMAS, file), 'utf8')) as {
    properties: Record<string, { pattern?: string }>;
  };
  return Object.fromEntries(
    Object.entries(schema.properties)
      .filter(([name, property]) => name.endsWith('_id') && property.pattern !== undefined)
      .map(([name, property]) => [name, property.pattern!]),
  );
}

// The records each key column appears in, and the generator that writes them.
const SOURCES: [schema: string, keys: string[], generate: () => Iterable<GeneratedRecord>][] = [
  [
    'sales-order.v1.json',
    ['order_id', 'customer_id', 'product_id'],
    () =>
      generateSalesOrders({ seed: 42, scale: 1, date: '2026-03-03', dirtyShare: 0.05, piiHmacKey: DEV_PII_HMAC_KEY }),
  ],
  [
    'click-event.v1.json',
    ['event_id', 'session_id', 'anonymous_id', 'customer_id', 'product_id'],
    () => generateClickEvents({ seed: 42, scale: 1, date: '2026-03-03', dirtyShare: 0.05 }),
  ],
  [
    'startup-company.v1.json',
    ['company_id'],
    () => generateStartupCompanies({ seed: 42, scale: 1, date: '2026-03-06', dirtyShare: 0.05, loadType: 'full' }),
  ],
];

describe('key formats of the silver layer', () => {
  it.each(SOURCES)('checks the keys of %s with the patterns the record schema declares', (schema, keys) => {
    const declared = schemaPatterns(schema);
    expect(Object.keys(declared).sort()).toEqual([...keys].sort());
    for (const key of keys) expect(KEY_FORMATS[key], key).toBe(declared[key]);
  });

  it.each(SOURCES)(
    'quarantines no key the generators write in %s, dirty records included (a dirty key is null)',
    (_schema, keys, generate) => {
      const misfits: string[] = [];
      let checked = 0;
      for (const record of generate()) {
        for (const key of keys) {
          const value = record.data[key];
          if (value === null || value === undefined) continue;
          checked += 1;
          if (typeof value !== 'string' || !new RegExp(KEY_FORMATS[key]!).test(value))
            misfits.push(`${key}=${String(value)}`);
        }
      }
      expect(checked).toBeGreaterThan(100);
      expect(misfits).toEqual([]);
    },
  );

  it('refuses look-alikes, hostile strings and wrong lengths that a loose check would let through', () => {
    const fits = (key: string, value: string) => new RegExp(KEY_FORMATS[key]!).test(value);
    expect(fits('customer_id', 'cus_4620000012')).toBe(true);
    for (const value of [
      '"><script>alert(1)</script>',
      'cus_12345',
      '\u0441us_0000001',
      'cus_\uff10\uff10\uff10\uff10\uff10\uff10\uff11',
      'cus_0000001\u200b',
      'cus_0000001\n',
      'CUS_0000001',
    ])
      expect(fits('customer_id', value), JSON.stringify(value)).toBe(false);
    expect(fits('order_id', 'ord_0123456789abcdef')).toBe(true);
    for (const value of ['ord_0123456789ABCDEF', 'ord_0123456789abcde', 'ord_0123456789abcdef0'])
      expect(fits('order_id', value), value).toBe(false);
  });
});
