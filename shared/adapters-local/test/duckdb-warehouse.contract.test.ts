import { join } from 'node:path';
import { openDuckDbWarehouseAccess } from '@mlops/adapters-local';
import { describeWarehouseContract, tempDir } from '@mlops/testing/suites';

describeWarehouseContract('DuckDB', async () => {
  const dir = tempDir('mlops-warehouse-contract-');
  // The file is named like the product's (a catalog "warehouse"): names must come from describeSchema.
  const access = openDuckDbWarehouseAccess({ path: join(dir.path, 'warehouse.duckdb') });
  await access.write((warehouse) => warehouse.execute('create schema if not exists warehouse'));
  return {
    access,
    schema: 'warehouse',
    async stop() {
      await access.close();
      dir.remove();
    },
  };
});
