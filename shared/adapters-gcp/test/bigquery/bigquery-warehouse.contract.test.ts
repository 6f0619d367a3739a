import { describeWarehouseContract } from '@mlops/testing/suites';
import { startBigQueryStandinFixture } from './bigquery.fixture.js';

describeWarehouseContract('BigQuery', async () => {
  const fixture = await startBigQueryStandinFixture();
  const access = fixture.open();
  await access.client.createDataset('warehouse', { location: 'EU' });
  return { access, schema: 'warehouse', stop: () => fixture.stop() };
});
