/** @mlops/adapters-gcp/bigquery: BigQuery: the warehouse of the gcp mode. */
export {
  openBigQueryWarehouseAccess,
  type BigQueryWarehouseAccess,
  type BigQueryWarehouseAccessOptions,
} from './bigquery/bigquery-warehouse-access.adapter.js';
