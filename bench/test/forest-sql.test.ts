import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuckDbWarehouse, releaseDuckDbFile } from '@mlops/adapters-local';
import { type GbdtModelJson, createDataset, createModel, createRandom } from '@mlops/gbdt';
import { afterAll, describe, expect, it } from 'vitest';
import { SCORE_TOLERANCE, compileForestSql } from '../model/forest-sql.js';

const NAMES = ['a', 'b', 'c', 'noise'];

/** Rows with signal in a, b and c; `missing` of a and c are NaN. */
function data(rows: number, seed: number, missing = 0) {
  const random = createRandom(seed);
  const values = new Float64Array(rows * NAMES.length);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = random.nextFloat();
    const b = Math.floor(random.nextFloat() * 5);
    const c = random.nextFloat() * 100;
    values.set([a, b, c, random.nextFloat()], r * 4);
    if (random.nextFloat() < missing) values[r * 4] = Number.NaN;
    if (random.nextFloat() < missing) values[r * 4 + 2] = Number.NaN;
    labels[r] = random.nextFloat() < 0.2 + 0.5 * a + 0.05 * b - (c > 80 ? 0.2 : 0) ? 1 : 0;
  }
  return { featureNames: NAMES, values, labels };
}

describe('the forest compiled to SQL (bench/model)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forest-sql-'));
  const path = join(dir, 'w.duckdb');
  afterAll(() => {
    releaseDuckDbFile(path);
    rmSync(dir, { recursive: true, force: true });
  });

  it('scores as the model does within the tolerance: NULL and NaN go right, a threshold itself goes left', async () => {
    const model = createModel('gbdt', { threads: 1, seed: 0, nTrees: 60, maxDepth: 4 }).fit(
      createDataset(data(3000, 1)),
    );
    const json = model.toJSON() as GbdtModelJson;
    const test = data(2000, 4, 0.2);
    // Rows 0..9 sit exactly on thresholds of the first tree's splits.
    const [first] = json.trees;
    for (let r = 0; r < 10; r++) {
      const node = r % first!.feature.length;
      const f = first!.feature[node]!;
      if (f >= 0) test.values[r * 4 + f] = first!.threshold[node]!;
    }
    const warehouse = await openDuckDbWarehouse({ path });
    try {
      await warehouse.execute('create table t (id double, a double, b double, c double, noise double)');
      const ids = Float64Array.from({ length: 2000 }, (_, r) => r);
      const columns = NAMES.map((_, f) => Float64Array.from({ length: 2000 }, (_, r) => test.values[r * 4 + f]!));
      await warehouse.appendNumbers({ table: 't' }, [ids, ...columns]);
      // Every 7th row's c as SQL NULL: the model sees NaN there.
      await warehouse.execute('update t set c = null where id % 7 = 3');
      for (let r = 3; r < 2000; r += 7) test.values[r * 4 + 2] = Number.NaN;
      const expected = Float64Array.from({ length: 2000 }, (_, r) =>
        model.predictRow(test.values.subarray(r * 4, r * 4 + 4)),
      );
      const forest = compileForestSql(json, (name) => `t.${name}`, 'double');
      expect(NAMES).toEqual(expect.arrayContaining([...forest.features]));
      const rows = await warehouse.queryColumns(
        `select ${forest.probability('s.m')} as p from (select t.id, ${forest.margin} as m from t) as s order by s.id`,
      );
      const scores = rows.columns[0]!.map(Number);
      expect(scores).toHaveLength(2000);
      const worst = Math.max(...scores.map((p, r) => Math.abs(p - expected[r]!)));
      expect(worst).toBeLessThanOrEqual(SCORE_TOLERANCE);
      // The margin is the model's sum in its order: most probabilities agree to the bit.
      expect(scores.filter((p, r) => p === expected[r]).length).toBeGreaterThan(1500);
    } finally {
      await warehouse.close();
    }
  });

  it('refuses a tree that links to a node or feature the model does not have', () => {
    const json: GbdtModelJson = {
      format: 'mlops.gbdt.v1',
      kind: 'gbdt',
      featureNames: ['a'],
      params: {},
      baseScore: 0,
      trees: [
        { feature: [3, -1, -1], threshold: [0.5, 0, 0], left: [1, -1, -1], right: [2, -1, -1], value: [0, 1, 2] },
      ],
    } as unknown as GbdtModelJson;
    expect(() => compileForestSql(json, (name) => name, 'double')).toThrow(/splits on feature 3/);
    json.trees[0]!.feature[0] = 0;
    json.trees[0]!.left[0] = 9;
    expect(() => compileForestSql(json, (name) => name, 'double')).toThrow(/links to node 9/);
  });
});
