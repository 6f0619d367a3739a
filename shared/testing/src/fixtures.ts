/**
 * @mlops/testing/fixtures: warehouses and operations records built for the dashboard's tests and
 * benchmarks (a gold warehouse of a synthetic world, a run ledger and model registry around it), and
 * the bronze lake the real generators write, with the warehouse the real project builds from it.
 */
export * from './dashboard/gold-warehouse.fixture.js';
export * from './dashboard/operations.fixture.js';
export * from './lake/lake.fixture.js';
export * from './lake/lake-warehouse.fixture.js';
export * from './lake/project-view.js';
