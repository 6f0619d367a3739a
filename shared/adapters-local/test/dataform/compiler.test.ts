import { cpSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataformCompiler, projectContentHash, substituteRunDates } from '@mlops/adapters-local';
import {
  RUN_DATES_SENTINEL,
  RUN_DATE_FIRST_SENTINEL,
  RUN_DATE_LAST_SENTINEL,
  TransformError,
  runDateVars,
} from '@mlops/kernel';
import { tempDir } from '@mlops/testing/suites';

const PROJECT = resolve(import.meta.dirname, '../../../../dataform');

describe('DataformCompiler (the real Dataform CLI, offline)', () => {
  const compiler = new DataformCompiler({ projectDir: PROJECT });
  const dirs: { remove: () => void }[] = [];
  afterAll(() => dirs.forEach((dir) => dir.remove()));

  it('compiles the project and reuses the compiled graph with the run dates substituted faithfully', async () => {
    expect(compiler.cacheable).toBe(true);
    const dates = ['2026-01-05', '2026-01-06', '2026-02-28'];
    const first = await compiler.compile(['2026-01-01']);
    expect(first.cached).toBe(false);
    const second = await compiler.compile(dates);
    expect(second.cached).toBe(true);
    expect(second.durationMs).toBeLessThan(first.durationMs);
    for (const sentinel of [RUN_DATES_SENTINEL, RUN_DATE_FIRST_SENTINEL, RUN_DATE_LAST_SENTINEL]) {
      expect(JSON.stringify(second.template)).toContain(sentinel);
      expect(JSON.stringify(second.graph)).not.toContain(sentinel);
    }
    // What the CLI itself produces for those dates, compiled for real:
    const real = await compiler.compileWithCli(runDateVars(dates));
    expect(second.graph).toEqual(real);
    const incremental = real.tables?.find((table) => table.target.name === 'stg_sales__orders');
    expect(incremental?.incrementalPreOps).toContainEqual(
      expect.stringContaining("run_date in (date '2026-01-05', date '2026-01-06', date '2026-02-28')"),
    );
    const gold = real.tables?.find((table) => table.target.name === 'fct_sales');
    expect(gold?.incrementalPreOps?.join('\n')).toContain(
      "run_date between date '2026-01-05' and date_add(date '2026-02-28', interval 89 day)",
    );
  });

  it('compiles with the project vars and keys the cache on the other vars', async () => {
    const withLake = await compiler.compile(['2026-01-05'], { lake_uri: 'gs://other-bucket/lake' });
    expect(withLake.key).not.toBe(compiler.cacheKey({}));
    expect(
      withLake.graph.operations?.find((operation) => operation.target.name === 'clickstream')?.queries[0],
    ).toContain("uris = ['gs://other-bucket/lake/bronze/clickstream/*.jsonl']");
    expect(compiler.cacheKey({ run_dates: '2026-01-01' })).toBe(compiler.cacheKey({ run_dates: '2027-12-31' }));
  });

  it('refuses vars the CLI would cut, and run dates the project itself rejects', async () => {
    await expect(compiler.compile(['2026-01-05'], { lake_uri: 'gs://a/b,c' })).rejects.toMatchObject({
      code: 'DATAFORM.INVALID_VAR',
    });
    const error = (await compiler
      .compileWithCli({ run_dates: '2026-13-01' })
      .catch((caught: unknown) => caught)) as TransformError;
    expect(error.code).toBe('DATAFORM.COMPILATION_FAILED');
    expect(error.message).toMatch(/var run_dates: "2026-13-01" is not a valid date/);
  });

  it('reports compilation errors with their file, and changes its cache key when the project changes', async () => {
    const copy = tempDir('mlops-dataform-copy-');
    dirs.push(copy);
    cpSync(PROJECT, copy.path, { recursive: true, filter: (path) => !path.includes('node_modules') });
    const before = projectContentHash(copy.path);
    writeFileSync(
      join(copy.path, 'definitions', 'oops.sqlx'),
      'config { type: "table" }\nselect ${ref("no_such_table")} as x\n',
    );
    expect(projectContentHash(copy.path)).not.toBe(before);
    const broken = new DataformCompiler({ projectDir: copy.path });
    const error = (await broken.compile(['2026-01-05']).catch((caught: unknown) => caught)) as TransformError;
    expect(error).toBeInstanceOf(TransformError);
    expect(error.code).toBe('DATAFORM.COMPILATION_FAILED');
    expect(error.message).toMatch(/definitions\/oops\.sqlx: .*no_such_table/);
  });

  it('refuses to substitute a sentinel found outside its place', () => {
    const graph = {
      tables: [
        { target: { schema: 's', name: 't' }, query: `select date_sub(date '${RUN_DATES_SENTINEL}', interval 1 day)` },
      ],
    };
    expect(substituteRunDates(graph, ['2026-01-05', '2026-01-06'])).toBeUndefined();
    const listed = {
      tables: [
        {
          target: { schema: 's', name: 't' },
          query: `select * from t where d in (date '${RUN_DATES_SENTINEL}') and d >= date '${RUN_DATE_FIRST_SENTINEL}'`,
        },
      ],
    };
    expect(substituteRunDates(listed, ['2026-01-06', '2026-01-05'])?.tables?.[0]?.query).toBe(
      "select * from t where d in (date '2026-01-05', date '2026-01-06') and d >= date '2026-01-05'",
    );
  });

  it('does not cache a project that writes the sentinel date itself', () => {
    const copy = tempDir('mlops-dataform-sentinel-');
    dirs.push(copy);
    cpSync(PROJECT, copy.path, { recursive: true, filter: (path) => !path.includes('node_modules') });
    writeFileSync(
      join(copy.path, 'definitions', 'odd.sqlx'),
      `config { type: "view" }\nselect date '${RUN_DATES_SENTINEL}' as d\n`,
    );
    expect(new DataformCompiler({ projectDir: copy.path }).cacheable).toBe(false);
  });
});
