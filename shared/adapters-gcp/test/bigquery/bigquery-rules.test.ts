/** Pure rules of the BigQuery warehouse: labels, error mapping, SQL text, transaction scripts, values. */
import { describe, expect, it } from 'vitest';
import { jobLabels, sanitiseLabelKey, sanitiseLabelValue, warehouseErrorOf } from '../../src/bigquery/bigquery-jobs.js';
import { isSingleQuery, prefixParameters } from '../../src/bigquery/bigquery-sql-text.js';
import { decodeValue, encodeParams } from '../../src/bigquery/bigquery-values.js';
import { transactionScript } from '../../src/bigquery/bigquery-warehouse.adapter.js';

describe('BigQuery labels', () => {
  it.each([
    ['run_2026-10-10_ABC', 'run_2026-10-10_abc'],
    ['trainer: features 2026-10-10', 'trainer__features_2026-10-10'],
    ['ünïcode/and.dots', '_n_code_and_dots'],
    ['', ''],
  ])('sanitises %j to %j', (value, expected) => {
    expect(sanitiseLabelValue(value)).toBe(expected);
  });

  it('keeps long values at 63 characters, distinct by a hash of the whole', () => {
    const a = sanitiseLabelValue(`${'x'.repeat(80)}a`);
    const b = sanitiseLabelValue(`${'x'.repeat(80)}b`);
    expect(a).toHaveLength(63);
    expect(b).toHaveLength(63);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-z0-9_-]+$/);
  });

  it('starts keys with a letter and drops empty labels', () => {
    expect(sanitiseLabelKey('1run')).toBe('k1run');
    expect(jobLabels({ service: 'Lander', run_id: undefined, purpose: '' })).toEqual({ service: 'lander' });
  });
});

describe('BigQuery error mapping', () => {
  const api = (code: number, reason: string, message = reason) =>
    Object.assign(new Error(message), { code, errors: [{ reason, message }] });
  it.each([
    [api(404, 'notFound'), 'WAREHOUSE.NOT_FOUND', 'permanent'],
    [api(400, 'invalidQuery'), 'WAREHOUSE.INVALID_QUERY', 'permanent'],
    [api(400, 'invalid'), 'WAREHOUSE.INVALID_QUERY', 'permanent'],
    [api(409, 'duplicate'), 'WAREHOUSE.DUPLICATE', 'permanent'],
    [api(403, 'accessDenied'), 'WAREHOUSE.ACCESS_DENIED', 'permanent'],
    [api(403, 'rateLimitExceeded'), 'WAREHOUSE.UNAVAILABLE', 'transient'],
    [api(403, 'quotaExceeded'), 'WAREHOUSE.UNAVAILABLE', 'transient'],
    [api(500, 'backendError'), 'WAREHOUSE.UNAVAILABLE', 'transient'],
    [api(503, 'internalError'), 'WAREHOUSE.UNAVAILABLE', 'transient'],
    [api(429, 'tooMany'), 'WAREHOUSE.UNAVAILABLE', 'transient'],
    [
      api(400, 'invalidQuery', 'Transaction is aborted due to concurrent update against table p.d.t'),
      'WAREHOUSE.CONFLICT',
      'transient',
    ],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'WAREHOUSE.UNAVAILABLE', 'transient'],
  ])('maps %s to %s (%s)', (error, code, errorClass) => {
    const mapped = warehouseErrorOf(error, 'query');
    expect(mapped).toMatchObject({ code, errorClass });
    expect(mapped.message).toMatch(/^query: /);
  });
});

describe('GoogleSQL text', () => {
  it.each([
    ['select 1', true],
    ['  (select 1) union all (select 2);', true],
    ['with a as (select 1) select * from a', true],
    ['-- a comment\nselect 1', true],
    ["select ';' as semicolon", true],
    ['delete from t where true', false],
    ['select 1; delete from t where true', false],
    ['insert into t select 1', false],
    ['create table t as select 1', false],
  ])('%j is a single query: %s', (sql, expected) => {
    expect(isSingleQuery(sql)).toBe(expected);
  });

  it('renames positional and named parameters outside strings, identifiers and comments', () => {
    expect(
      prefixParameters("select ?, @a, '?', `q?`, @@project_id -- ?\n, ? /* @b */ from t where x = @a", 't1_'),
    ).toEqual({
      sql: "select @t1_0, @t1_a, '?', `q?`, @@project_id -- ?\n, @t1_1 /* @b */ from t where x = @t1_a",
      positional: 2,
    });
  });

  it('builds one BEGIN/COMMIT script with every statement parameters renamed apart', () => {
    const script = transactionScript([
      { sql: 'delete from t where d = ?;', params: ['2026-10-01'] },
      { sql: 'insert into t (d, n) values (@d, @n)', params: { d: '2026-10-01', n: 2 } },
      { sql: 'delete from u where true', params: undefined },
    ]);
    expect(script.sql).toBe(
      'BEGIN TRANSACTION;\ndelete from t where d = @t0_0;\ninsert into t (d, n) values (@t1_d, @t1_n);\ndelete from u where true;\nCOMMIT TRANSACTION;',
    );
    expect(script.params).toEqual({ t0_0: '2026-10-01', t1_d: '2026-10-01', t1_n: 2 });
    expect(() => transactionScript([{ sql: 'select ?, ?', params: [1] }])).toThrow(/2 \? placeholders but 1/);
  });
});

describe('BigQuery values', () => {
  it('types parameters from their values', () => {
    expect(
      encodeParams(['a', '2026-10-01', 3, 2.5, true, 12n, new Date('2026-10-01T00:00:00Z'), null, [1, 2.5], []]),
    ).toEqual({
      parameterMode: 'POSITIONAL',
      queryParameters: [
        { parameterType: { type: 'STRING' }, parameterValue: { value: 'a' } },
        { parameterType: { type: 'DATE' }, parameterValue: { value: '2026-10-01' } },
        { parameterType: { type: 'INT64' }, parameterValue: { value: '3' } },
        { parameterType: { type: 'FLOAT64' }, parameterValue: { value: '2.5' } },
        { parameterType: { type: 'BOOL' }, parameterValue: { value: 'true' } },
        { parameterType: { type: 'INT64' }, parameterValue: { value: '12' } },
        { parameterType: { type: 'TIMESTAMP' }, parameterValue: { value: '2026-10-01T00:00:00.000Z' } },
        { parameterType: { type: 'STRING' }, parameterValue: {} },
        {
          parameterType: { type: 'ARRAY', arrayType: { type: 'FLOAT64' } },
          parameterValue: { arrayValues: [{ value: '1' }, { value: '2.5' }] },
        },
        { parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } }, parameterValue: { arrayValues: [] } },
      ],
    });
    expect(encodeParams({ day: '2026-10-01' })).toEqual({
      parameterMode: 'NAMED',
      queryParameters: [{ name: 'day', parameterType: { type: 'DATE' }, parameterValue: { value: '2026-10-01' } }],
    });
  });

  it.each([
    [[['a', 1]], /mixes element types/],
    [[['a', null]], /cannot hold nulls/],
    [[{ a: 1 }], /record/],
    [[[[1]]], /nested array/],
  ])('refuses %j', (params, message) => {
    expect(() => encodeParams(params as never)).toThrow(message);
  });

  it('decodes the REST encoding like the DuckDB adapter gives values', () => {
    expect(decodeValue({ name: 'n', type: 'INTEGER' }, '42')).toBe(42);
    expect(decodeValue({ name: 'n', type: 'INTEGER' }, '9007199254740993')).toBe('9007199254740993');
    expect(decodeValue({ name: 't', type: 'TIMESTAMP' }, '1759305600000000')).toBe('2025-10-01T08:00:00.000Z');
    expect(decodeValue({ name: 't', type: 'TIMESTAMP' }, '1.7593056E9')).toBe('2025-10-01T08:00:00.000Z');
    expect(decodeValue({ name: 'd', type: 'DATE' }, '2026-10-01')).toBe('2026-10-01');
    expect(decodeValue({ name: 'b', type: 'BOOLEAN' }, 'false')).toBe(false);
    expect(decodeValue({ name: 'x', type: 'FLOAT' }, 'NaN')).toBeNaN();
    expect(decodeValue({ name: 'x', type: 'NUMERIC' }, '1.25')).toBe(1.25);
    expect(decodeValue({ name: 'l', type: 'STRING', mode: 'REPEATED' }, [{ v: 'a' }, { v: 'b' }])).toEqual(['a', 'b']);
    expect(decodeValue({ name: 'l', type: 'STRING', mode: 'REPEATED' }, null)).toEqual([]);
    expect(
      decodeValue(
        {
          name: 'r',
          type: 'RECORD',
          fields: [
            { name: 'v', type: 'INTEGER' },
            { name: 's', type: 'STRING' },
          ],
        },
        {
          f: [{ v: '1' }, { v: null }],
        },
      ),
    ).toEqual({ v: 1, s: null });
    expect(decodeValue({ name: 'n', type: 'INTEGER' }, null)).toBeNull();
  });
});
