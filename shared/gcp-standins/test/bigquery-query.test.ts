import type { BigQuery, Dataset } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryFixture, type BigQueryFixture } from './bigquery.fixture.js';

// Query jobs of the BigQuery stand-in through the real @google-cloud/bigquery client, which
// authenticates with Application Default Credentials from the metadata server stand-in.

describe('BigQuery stand-in: queries', () => {
  let fixture: BigQueryFixture;
  let bigquery: BigQuery;
  let dataset: Dataset;

  beforeAll(async () => {
    fixture = await startBigQueryFixture();
    bigquery = fixture.bigquery;
    [dataset] = await bigquery.createDataset('ops');
  });
  afterAll(async () => {
    await fixture?.stop();
  });

  it('binds named parameters of every type the product uses, and decodes results as against BigQuery', async () => {
    const [rows] = await bigquery.query({
      query: `select @s as s, @i as i, @big as big, @f as f, @b as b, @d as d, @t as t, @n as n,
                     @names as names, @days as days, @missing as missing, @d + 1 as next_day`,
      params: {
        s: "it's 'quoted'",
        i: 42,
        big: '9007199254740993',
        f: 0.25,
        b: false,
        d: bigquery.date('2026-09-01'),
        t: new Date('2026-09-01T12:34:56.789Z'),
        n: '1234.5',
        names: ['a', 'b'],
        days: [bigquery.date('2026-09-01'), bigquery.date('2026-09-02')],
        missing: null,
      },
      types: { big: 'INT64', n: 'NUMERIC', missing: 'INT64' },
      wrapIntegers: true,
    });
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row.s).toBe("it's 'quoted'");
    expect(row.i.value).toBe('42');
    expect(row.big.value).toBe('9007199254740993');
    expect(row.f).toBe(0.25);
    expect(row.b).toBe(false);
    expect(row.d).toEqual(bigquery.date('2026-09-01'));
    expect(row.next_day).toEqual(bigquery.date('2026-09-02'));
    expect(row.t.value).toBe('2026-09-01T12:34:56.789Z');
    expect(row.n.toString()).toBe('1234.5');
    expect(row.names).toEqual(['a', 'b']);
    expect(row.days).toEqual([bigquery.date('2026-09-01'), bigquery.date('2026-09-02')]);
    expect(row.missing).toBeNull();
  });

  it('binds positional parameters, and refuses a parameter with no value or a value not of its type', async () => {
    const [rows] = await bigquery.query({ query: 'select ? + ? as total, ? as label', params: [40, 2, 'x'] });
    expect(rows).toEqual([{ total: 42, label: 'x' }]);
    await expect(bigquery.query({ query: 'select @nope as x', params: { other: 1 } })).rejects.toMatchObject({
      code: 400,
      errors: [expect.objectContaining({ reason: 'invalidQuery' })],
    });
    const invalid = await fixture.raw('/queries', {
      method: 'POST',
      body: JSON.stringify({
        query: 'select @d as d',
        useLegacySql: false,
        parameterMode: 'NAMED',
        queryParameters: [{ name: 'd', parameterType: { type: 'DATE' }, parameterValue: { value: 'not a date' } }],
      }),
    });
    expect(invalid).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('Invalid DATE value'), errors: [{ reason: 'invalidQuery' }] } },
    });
  });

  it('encodes rows as the REST API does: f/v strings, REPEATED and RECORD fields, NULL arrays empty', async () => {
    const { status, body } = await fixture.raw('/queries', {
      method: 'POST',
      body: JSON.stringify({
        query: `select 7 as n, 2.5 as x, true as ok, 'txt' as s, date '2026-09-01' as d, cast(1.5 as numeric) as amount,
                       [1, 2] as xs, struct(1 as a, 'b' as b) as rec, cast(null as array<string>) as none, 1 + 1`,
        useLegacySql: false,
        formatOptions: { useInt64Timestamp: true },
      }),
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'bigquery#queryResponse', jobComplete: true, totalRows: '1' });
    expect((body.schema as { fields: unknown[] }).fields).toEqual([
      { name: 'n', type: 'INTEGER', mode: 'NULLABLE' },
      { name: 'x', type: 'FLOAT', mode: 'NULLABLE' },
      { name: 'ok', type: 'BOOLEAN', mode: 'NULLABLE' },
      { name: 's', type: 'STRING', mode: 'NULLABLE' },
      { name: 'd', type: 'DATE', mode: 'NULLABLE' },
      { name: 'amount', type: 'NUMERIC', mode: 'NULLABLE' },
      { name: 'xs', type: 'INTEGER', mode: 'REPEATED' },
      {
        name: 'rec',
        type: 'RECORD',
        mode: 'NULLABLE',
        fields: [
          { name: 'a', type: 'INTEGER', mode: 'NULLABLE' },
          { name: 'b', type: 'STRING', mode: 'NULLABLE' },
        ],
      },
      { name: 'none', type: 'STRING', mode: 'REPEATED' },
      { name: 'f0_', type: 'INTEGER', mode: 'NULLABLE' },
    ]);
    expect(body.rows).toEqual([
      {
        f: [
          { v: '7' },
          { v: '2.5' },
          { v: 'true' },
          { v: 'txt' },
          { v: '2026-09-01' },
          { v: '1.5' },
          { v: [{ v: '1' }, { v: '2' }] },
          { v: { f: [{ v: '1' }, { v: 'b' }] } },
          { v: [] },
          { v: '2' },
        ],
      },
    ]);
  });

  it('names expressions without alias f0_, f1_ and refuses two columns of one name, as BigQuery does', async () => {
    expect((await bigquery.query("select 1, 2 as b, upper('x')"))[0]).toEqual([{ f0_: 1, b: 2, f1_: 'X' }]);
    await expect(bigquery.query('select 1 as a, 2 as a')).rejects.toThrow(/Duplicate column names/);
  });

  it('writes TIMESTAMP values as formatOptions ask: int64 microseconds, ISO 8601, or float seconds', async () => {
    const { body } = await fixture.raw('/queries', {
      method: 'POST',
      body: JSON.stringify({
        query: "select timestamp '2026-09-01 12:34:56.123456+02:00' as t",
        useLegacySql: false,
        formatOptions: { useInt64Timestamp: true },
      }),
    });
    const micros = BigInt(Date.parse('2026-09-01T10:34:56.123Z')) * 1000n + 456n;
    expect(body.rows).toEqual([{ f: [{ v: micros.toString() }] }]);
    const jobId = (body.jobReference as { jobId: string }).jobId;
    const iso = await fixture.raw(`/queries/${jobId}?formatOptions.timestampOutputFormat=ISO8601_STRING`);
    expect(iso.body.rows).toEqual([{ f: [{ v: '2026-09-01T10:34:56.123456Z' }] }]);
    const float = await fixture.raw(`/queries/${jobId}`);
    expect(Number((float.body.rows as { f: { v: string }[] }[])[0]!.f[0]!.v)).toBe(Number(micros) / 1e6);
    const [rows] = await bigquery.query("select timestamp '2026-09-01 12:34:56.123456+02:00' as t");
    expect(rows[0].t.value).toBe('2026-09-01T10:34:56.123456000Z');
  });

  it('runs a MERGE with parameters and reports the rows it changed', async () => {
    await dataset.createTable('accounts', { schema: 'id:INTEGER,owner:STRING,balance:NUMERIC' });
    await bigquery.query("insert into ops.accounts values (1, 'ann', 10), (2, 'bob', 20)");
    const [job] = await bigquery.createQueryJob({
      query: `merge \`standin-project.ops.accounts\` t
              using (select @id as id, @owner as owner, 25 as balance union all select @id + 1, @owner, 25) s
              on t.id = s.id
              when matched then update set owner = s.owner, balance = s.balance
              when not matched then insert (id, owner, balance) values (s.id, s.owner, s.balance)`,
      params: { id: 2, owner: 'bea' },
    });
    await job.promise();
    const [metadata] = await job.getMetadata();
    expect(metadata.statistics.query).toMatchObject({ statementType: 'MERGE', numDmlAffectedRows: '2' });
    const [rows] = await bigquery.query('select id, owner, balance from ops.accounts order by id');
    expect(rows.map((row) => [row.id, row.owner, row.balance.toString()])).toEqual([
      [1, 'ann', '10'],
      [2, 'bea', '25'],
      [3, 'bea', '25'],
    ]);
  });

  it('rolls a multi-statement transaction back when a statement fails, commits it when all pass', async () => {
    await dataset.createTable('ledger', { schema: 'id:INTEGER,amount:INTEGER' });
    await bigquery.query('insert into ops.ledger values (1, 100), (2, 200)');
    const script = (bad: string) => ({
      query: `begin transaction;
              delete from ops.ledger where true;
              insert into ops.ledger values (10, 1000);
              insert into ops.ledger values (cast(@bad as int64), 0);
              commit transaction;`,
      params: { bad },
    });
    await expect(bigquery.query(script('not a number'))).rejects.toMatchObject({
      code: 400,
      errors: [expect.objectContaining({ reason: 'invalidQuery' })],
    });
    expect((await bigquery.query('select id from ops.ledger order by id'))[0]).toEqual([{ id: 1 }, { id: 2 }]);
    await bigquery.query(script('11'));
    expect((await bigquery.query('select id from ops.ledger order by id'))[0]).toEqual([{ id: 10 }, { id: 11 }]);
    // BigQuery refuses DDL on permanent tables inside a transaction, and rolls back one left open.
    await expect(
      bigquery.query('begin transaction; create table ops.other (x int64); commit transaction;'),
    ).rejects.toThrow(/not supported inside a multi-statement transaction/);
    await expect(bigquery.query('begin transaction; delete from ops.ledger where true;')).rejects.toThrow(
      /not committed/,
    );
    expect((await bigquery.query('select count(*) as n from ops.ledger'))[0]).toEqual([{ n: 2 }]);
  });

  it('pages over 50,000 rows in order: the client collects every page, and page tokens walk the result', async () => {
    const query =
      "select x, concat('row-', cast(x as string)) as label from unnest(generate_array(1, 50000)) as x order by x";
    const [job] = await bigquery.createQueryJob({ query });
    // Page by page through the client, as a caller that streams a large result does.
    const rows: { x: number; label: string }[] = [];
    let next: object | null = { maxResults: 20_000, autoPaginate: false };
    while (next) {
      const [page, following]: [{ x: number; label: string }[], object | null] = (await job.getQueryResults(
        next,
      )) as never;
      rows.push(...page);
      next = following;
    }
    expect(rows).toHaveLength(50_000);
    expect(rows[0]).toEqual({ x: 1, label: 'row-1' });
    expect(rows[49_999]).toEqual({ x: 50_000, label: 'row-50000' });
    expect(rows.every((row, index) => row.x === index + 1)).toBe(true);
    const pages: number[] = [];
    let token: string | undefined;
    do {
      const { body } = await fixture.raw(
        `/queries/${job.id}?maxResults=20000${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`,
      );
      expect(body.totalRows).toBe('50000');
      const page = body.rows as { f: { v: string }[] }[];
      expect(page[0]!.f[0]!.v).toBe(String(pages.reduce((sum, size) => sum + size, 0) + 1));
      pages.push(page.length);
      token = body.pageToken as string | undefined;
    } while (token);
    expect(pages).toEqual([20_000, 20_000, 10_000]);
  });

  it('writes query results to a destination table as the write and create dispositions say', async () => {
    const destination = dataset.table('top_accounts');
    const run = async (options: object) => {
      const [job] = await bigquery.createQueryJob({ query: 'select 1 as id, 5 as score', destination, ...options });
      await job.promise();
    };
    await run({});
    await expect(run({})).rejects.toMatchObject({ errors: [expect.objectContaining({ reason: 'duplicate' })] });
    await run({ writeDisposition: 'WRITE_APPEND' });
    expect((await destination.getRows())[0]).toHaveLength(2);
    await run({ writeDisposition: 'WRITE_TRUNCATE' });
    expect((await destination.getRows())[0]).toEqual([{ id: 1, score: 5 }]);
    await expect(
      bigquery
        .createQueryJob({
          query: 'select 1 as id',
          destination: dataset.table('missing_table'),
          createDisposition: 'CREATE_NEVER',
        })
        .then(([job]) => job.promise()),
    ).rejects.toMatchObject({ errors: [expect.objectContaining({ reason: 'notFound' })] });
  });

  it('replaces one day of a day-partitioned table through a $YYYYMMDD decorator, refusing rows of other days', async () => {
    const [table] = await dataset.createTable('daily', {
      schema: 'dt:DATE,v:INTEGER',
      timePartitioning: { type: 'DAY', field: 'dt' },
    });
    await bigquery.query("insert into ops.daily values ('2026-09-01', 1), ('2026-09-02', 2), ('2026-09-02', 3)");
    const replace = async (query: string) => {
      const [job] = await bigquery.createQueryJob({
        query,
        destination: dataset.table('daily$20260902'),
        writeDisposition: 'WRITE_TRUNCATE',
      });
      await job.promise();
    };
    await replace("select date '2026-09-02' as dt, 20 as v");
    expect((await bigquery.query('select dt, v from ops.daily order by dt, v'))[0].map((row) => row.v)).toEqual([
      1, 20,
    ]);
    await expect(replace("select date '2026-09-03' as dt, 30 as v")).rejects.toThrow(/different partitions/);
    expect((await table.getMetadata())[0].timePartitioning).toEqual({ type: 'DAY', field: 'dt' });
  });

  it('keeps job labels, readable from jobs.get, and refuses labels BigQuery would refuse', async () => {
    const labels = { run_id: 'run_2026-09-01', service: 'trainer' };
    const [job] = await bigquery.createQueryJob({ query: 'select 1 as one', labels });
    await job.promise();
    expect((await job.getMetadata())[0].configuration.labels).toEqual(labels);
    const { body } = await fixture.raw(`/jobs/${job.id}?location=US`);
    expect(body).toMatchObject({
      kind: 'bigquery#job',
      jobReference: { jobId: job.id, location: 'US' },
      configuration: { labels, jobType: 'QUERY' },
      status: { state: 'DONE' },
      user_email: 'mlops-runtime@standin-project.iam.gserviceaccount.com',
    });
    await expect(bigquery.createQueryJob({ query: 'select 1', labels: { 'Run-Id': 'x' } })).rejects.toMatchObject({
      code: 400,
    });
  });

  it('reports errors in BigQuery shape: notFound, invalidQuery, duplicate', async () => {
    await expect(bigquery.query('select * from ops.nowhere')).rejects.toMatchObject({
      code: 404,
      errors: [expect.objectContaining({ reason: 'notFound' })],
    });
    const invalid = await fixture.raw('/queries', {
      method: 'POST',
      body: JSON.stringify({ query: 'select no_such_column from ops.ledger', useLegacySql: false }),
    });
    expect(invalid).toMatchObject({
      status: 400,
      body: { error: { code: 400, errors: [{ reason: 'invalidQuery', domain: 'global' }] } },
    });
    // A job that fails still exists, DONE, with its error.
    const [job] = await bigquery.createQueryJob({ query: 'select no_such_column from ops.ledger' });
    await expect(job.promise()).rejects.toThrow();
    expect((await job.getMetadata())[0].status).toMatchObject({
      state: 'DONE',
      errorResult: { reason: 'invalidQuery', location: 'query' },
    });
    await expect(bigquery.createDataset('ops')).rejects.toMatchObject({
      code: 409,
      errors: [expect.objectContaining({ reason: 'duplicate' })],
    });
    await expect(bigquery.createQueryJob({ query: 'select 1', jobId: job.id! })).rejects.toMatchObject({ code: 409 });
  });

  it('answers 401 to a request without a token the metadata server issued', async () => {
    const url = `${fixture.standins.endpoints.bigquery}/bigquery/v2/projects/standin-project/datasets/ops`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer ya29.forged' } })).status).toBe(401);
  });

  it('answers 501, loudly, to what it does not implement', async () => {
    fixture.log.length = 0;
    const refused = [
      () => bigquery.query({ query: 'select 1', useLegacySql: true }),
      () => bigquery.query('declare x int64 default 1; select x'),
      () => bigquery.createQueryJob({ query: 'select 1', dryRun: true }),
      () => bigquery.createQueryJob({ query: 'select 1', timePartitioning: { type: 'DAY' } }),
      () => bigquery.query('select @@project_id'),
      () => dataset.table('accounts').load('/etc/hostname'),
      () =>
        fixture
          .raw('/jobs', { method: 'POST', body: JSON.stringify({ configuration: { extract: {} } }) })
          .then(({ status }) => Promise.reject({ code: status })),
    ];
    for (const call of refused) await expect(call()).rejects.toMatchObject({ code: 501 });
    expect((await fixture.raw('/../other-project/datasets')).status).toBe(501);
    expect(fixture.log.length).toBeGreaterThanOrEqual(refused.length + 1);
    expect(fixture.log.every((entry) => entry.severity === 'WARNING' && entry.standin === 'bigquery')).toBe(true);
  });
});
